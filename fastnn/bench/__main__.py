import sys

from fastnn.bench.harness import main

sys.exit(main())
