from kmeet_bridge.cli import main

raise SystemExit(main())
