from gpucompare.cli import main

raise SystemExit(main())
