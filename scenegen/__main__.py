from scenegen.cli import main

main()
