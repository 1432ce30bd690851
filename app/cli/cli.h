// neuroplan-cli: the headless front end for clinic IT scripts and automation.
// Qt-free; it wires command-line input to core services and formats their answers.
#pragma once

#include <iosfwd>

namespace neuroplan::cli {

/// Exit codes, the same for every command.
enum ExitCode : int {
    kExitOk = 0,
    kExitFailure = 1,       ///< a check failed (e.g. the audit chain) or storage broke
    kExitUsage = 2,         ///< bad usage or input: nothing was written
    kExitNotPermitted = 3,  ///< authentication failed or the role may not do this
};

/// Parses argv, runs one command and returns its exit code. Output goes to `out`, the one-line
/// error or progress to `err`.
int run(int argc, const char* const* argv, std::ostream& out, std::ostream& err);

}  // namespace neuroplan::cli
