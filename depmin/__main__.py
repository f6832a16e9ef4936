from depmin.cli import main

main()
