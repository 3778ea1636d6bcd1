#include "cli/cli.hpp"

int main(int argc, char** argv) { return gatebox::cli_main(argc, argv); }
