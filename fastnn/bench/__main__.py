from fastnn.bench.harness import main

main()
