from wasitest.cli import console_main

console_main()
