from scenegen.entry import main

main()
