from nnx.cli import main

main()
