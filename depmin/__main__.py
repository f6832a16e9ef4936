from depmin.commands import main

main()
