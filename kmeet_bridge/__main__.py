from kmeet_bridge.service.cli import main

raise SystemExit(main())
