from rag.cli.commands import main

main()
