"""Check that a built wheel is a self-contained binary package (an auditwheel-style
inspection, without auditwheel).

    python tools/check_wheel.py dist/fastnn_kernels-*.whl

Checks:

* the wheel is platform-tagged (not ``py3-none-any``) and not marked pure;
* it holds the compiled extensions, ``fastnn/lib/libfastnn.so``, the C headers
  (``fastnn.get_include()``) and the Cython declarations (``capi.pxd``);
* for every ELF file in it, read from its dynamic section: each DT_NEEDED
  library is either a file of the wheel, reached through a RUNPATH/RPATH entry
  relative to ``$ORIGIN`` (never an absolute path of the build machine), or a
  system library every Linux has (glibc's, libgcc_s, libstdc++, and the
  compiler's OpenMP runtime libgomp);
* no ELF file has an absolute run path, and ``libfastnn.so`` has the SONAME its
  dependents record.

Prints one line per ELF file and exits 1 listing the problems found.
"""
import posixpath
import struct
import sys
import zipfile

# glibc and the GCC runtimes (auditwheel's manylinux policies allow these, except
# libgomp, which it would copy into the wheel; it is installed with GCC's runtime
# on every Linux distribution, and fastnn needs the system's to share one OpenMP
# runtime with NumPy's and SciPy's libraries)
SYSTEM_LIBRARIES = {
    "libc.so.6", "libm.so.6", "libdl.so.2", "librt.so.1", "libpthread.so.0",
    "libutil.so.1", "libresolv.so.2", "libnsl.so.1", "libcrypt.so.1",
    "ld-linux-x86-64.so.2", "ld-linux-aarch64.so.1", "ld-linux.so.2",
    "libgcc_s.so.1", "libstdc++.so.6", "libgomp.so.1",
}
REQUIRED = [
    "fastnn/__init__.py",
    "fastnn/lib/libfastnn.so",
    "fastnn/include/fastnn.h",
    "fastnn/_ext/capi.pxd",
    "fastnn/_ext/c_capi.pxd",
]
REQUIRED_EXTENSIONS = ["runtime", "capi", "optim", "dense"]

DT_NULL, DT_NEEDED, DT_STRTAB, DT_SONAME, DT_RPATH, DT_RUNPATH = 0, 1, 5, 14, 15, 29
SHT_DYNAMIC = 6


def dynamic_entries(data):
    """(needed, soname, run paths) of an ELF image, from its .dynamic section."""
    if data[:4] != b"\x7fELF":
        raise ValueError("not an ELF file")
    is64 = data[4] == 2
    end = "<" if data[5] == 1 else ">"
    if is64:
        shoff, = struct.unpack_from(end + "Q", data, 0x28)
        shentsize, shnum = struct.unpack_from(end + "HH", data, 0x3A)
        shdr, dyn = end + "IIQQQQIIQQ", end + "qQ"
    else:
        shoff, = struct.unpack_from(end + "I", data, 0x20)
        shentsize, shnum = struct.unpack_from(end + "HH", data, 0x2E)
        shdr, dyn = end + "IIIIIIIIII", end + "iI"
    sections = [struct.unpack_from(shdr, data, shoff + i * shentsize) for i in range(shnum)]
    needed, soname, paths = [], None, []
    for s in sections:
        sh_type, sh_offset, sh_size, sh_link = s[1], s[4], s[5], s[6]
        if sh_type != SHT_DYNAMIC:
            continue
        strtab = sections[sh_link][4]

        def string(offset):
            start = strtab + offset
            return data[start:data.index(b"\0", start)].decode()

        size = struct.calcsize(dyn)
        for off in range(sh_offset, sh_offset + sh_size, size):
            tag, val = struct.unpack_from(dyn, data, off)
            if tag == DT_NULL:
                break
            if tag == DT_NEEDED:
                needed.append(string(val))
            elif tag == DT_SONAME:
                soname = string(val)
            elif tag in (DT_RPATH, DT_RUNPATH):
                paths += [(("RPATH" if tag == DT_RPATH else "RUNPATH"), p)
                          for p in string(val).split(":") if p]
    return needed, soname, paths


def check(wheel_path):
    problems = []
    with zipfile.ZipFile(wheel_path) as whl:
        names = set(whl.namelist())
        wheel_meta = next(n for n in names if n.endswith(".dist-info/WHEEL"))
        meta = whl.read(wheel_meta).decode()
        tags = [line.split(":", 1)[1].strip() for line in meta.splitlines()
                if line.startswith("Tag:")]
        print(f"{wheel_path}: tags {', '.join(tags)}")
        if any(t.endswith("-any") for t in tags) or "Root-Is-Purelib: true" in meta:
            problems.append(f"not a platform wheel: {tags} ({wheel_meta})")
        for name in REQUIRED:
            if name not in names:
                problems.append(f"missing {name}")
        for ext in REQUIRED_EXTENSIONS:
            if not any(n.startswith(f"fastnn/_ext/{ext}.") and n.endswith(".so") for n in names):
                problems.append(f"missing the extension fastnn._ext.{ext}")
        elves = {}
        for name in sorted(names):
            with whl.open(name) as f:
                if f.read(4) != b"\x7fELF":
                    continue
            elves[name] = dynamic_entries(whl.read(name))
        if not elves:
            problems.append("no compiled code in the wheel")
        sonames = {}
        for name, (_, soname, _) in elves.items():
            sonames.setdefault(posixpath.basename(name), []).append(name)
            if soname and soname != posixpath.basename(name):
                problems.append(f"{name}: SONAME {soname} differs from its file name")
        for name, (needed, soname, paths) in elves.items():
            here = posixpath.dirname(name)
            for kind, p in paths:
                if not p.startswith("$ORIGIN"):
                    problems.append(f"{name}: {kind} {p} is not relative to $ORIGIN")
            found = []
            for lib in needed:
                if lib in sonames:
                    dirs = [posixpath.normpath(p.replace("$ORIGIN", here, 1))
                            for _, p in paths if p.startswith("$ORIGIN")]
                    hits = [d for d in dirs if posixpath.join(d, lib) in names]
                    if hits:
                        found.append(f"{lib} -> {posixpath.join(hits[0], lib)} (in the wheel)")
                    else:
                        problems.append(f"{name}: needs {lib}, which is in the wheel "
                                        f"({sonames[lib]}) but not on its run path {paths}")
                elif lib in SYSTEM_LIBRARIES:
                    found.append(f"{lib} (system)")
                elif lib.startswith("libpython"):
                    problems.append(f"{name}: links {lib} (extensions must not)")
                else:
                    problems.append(f"{name}: needs {lib}, neither in the wheel nor a "
                                    f"system library")
            rpath = ":".join(p for _, p in paths) or "-"
            print(f"  {name}\n      SONAME {soname or '-'}  RUNPATH {rpath}\n"
                  f"      NEEDED {'; '.join(found) or '-'}")
    if problems:
        print("PROBLEMS:\n  " + "\n  ".join(problems))
        return 1
    print(f"OK: {len(elves)} ELF files, every dependency in the wheel or the system")
    return 0


def main(argv):
    if len(argv) < 2:
        print(__doc__)
        return 2
    return max(check(path) for path in argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv))
