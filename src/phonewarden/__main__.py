from phonewarden.cli import main

main()
