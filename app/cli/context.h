// What every neuroplan-cli command shares: global options, output streams, the database and
// sign-in, and the one-line error format. Command groups register themselves on the CLI11 app
// and report their exit code through the Context.
#pragma once

#include <functional>
#include <iosfwd>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base/result.h"
#include "cli.h"
#include "records/users.h"
#include "store/store.h"

namespace CLI {
class App;
}

namespace neuroplan::cli {

struct Context {
    std::ostream& out;
    std::ostream& err;
    std::string dbPath;  ///< --db
    std::string user;    ///< --user
    bool json = false;   ///< --json
    /// Leaf commands and what they run, called after parsing (and its checks) succeeded.
    std::vector<std::pair<CLI::App*, std::function<int()>>> handlers;

    void on(CLI::App* command, std::function<int()> handler) {
        handlers.emplace_back(command, std::move(handler));
    }

    /// Opens the database (--db or the default). Only `init` creates one.
    Result<store::Store> openStore(bool create) const;
    /// Signs in with --user / NEUROPLAN_USER and NEUROPLAN_PASSWORD or a terminal prompt.
    Result<records::Actor> signIn(store::Store& store) const;

    /// Prints "neuroplan-cli: error: --option: message" and returns the exit code for it.
    int fail(const Error& error) const;
    /// The same for an error about the contents of an input file: its field is a path inside
    /// the file (kind, trials[1].weeks_at_dose), never an option.
    int failInFile(const Error& error) const;
    int ok() const { return kExitOk; }
};

/// Runs `body(store, actor)` after opening the database and signing in; errors are reported.
template <class Body>
int withSignedIn(const Context& ctx, Body&& body) {
    auto store = ctx.openStore(false);
    if (!store) {
        return ctx.fail(store.error());
    }
    auto actor = ctx.signIn(*store);
    if (!actor) {
        return ctx.fail(actor.error());
    }
    return body(*store, *actor);
}

/// A password from `envName`, else typed on the terminal without echo; empty when neither.
std::optional<std::string> readPassword(const char* envName, const std::string& prompt);
/// Reads a whole file; errors name `field`.
Result<std::string> readTextFile(const std::string& path, std::string_view field);

void registerRecordCommands(CLI::App& app, Context& ctx);
void registerEligibilityCommands(CLI::App& app, Context& ctx);
void registerProtocolCommands(CLI::App& app, Context& ctx);
void registerScaleCommands(CLI::App& app, Context& ctx);
void registerDeviceCommands(CLI::App& app, Context& ctx);
void registerScheduleCommands(CLI::App& app, Context& ctx);
void registerSessionCommands(CLI::App& app, Context& ctx);
/// Adds to the `protocol` group, so it runs after registerProtocolCommands.
void registerCourseCommands(CLI::App& app, Context& ctx);

}  // namespace neuroplan::cli
