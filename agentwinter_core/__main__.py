from agentwinter_core.cli import main

main()
