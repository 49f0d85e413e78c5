from mediasight.cli import main

main()
