// neurosim: the device simulator. The device-link issue gives it the wire protocol, its own
// safety limits and fault injection; for now it only answers --help and --version.
#include <iostream>
#include <string_view>

int main(int argc, char** argv) {
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        if (arg == "--version") {
            std::cout << "neurosim " << NEUROPLAN_VERSION << '\n';
            return 0;
        }
        if (arg == "--help" || arg == "-h") {
            std::cout << "neurosim: NeuroPlan device simulator (rTMS stimulator, VNS programmer).\n"
                         "The device link is not implemented yet.\n";
            return 0;
        }
    }
    std::cerr << "neurosim: error: the device link is not implemented yet (see --help)\n";
    return 2;
}
