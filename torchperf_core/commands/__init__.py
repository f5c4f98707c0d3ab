"""One module per `torchperf` subcommand: NAME, HELP, add_arguments(parser), run(args) -> int."""
