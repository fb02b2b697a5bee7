from pgcheck.cli import main

main()
