#include "cli.h"

#include <termios.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>

#include "context.h"

namespace neuroplan::cli {

namespace {

/// A field that came from a command-line option, as that option (birth_date -> --birth-date).
/// Any other field is a path inside an input file (evaluation_date, trials[1].weeks_at_dose) and
/// is printed as it is.
std::string optionForField(const std::string& field) {
    static const std::map<std::string, std::string> kOptions = {
        {"mrn", "--mrn"},
        {"family_name", "--family"},
        {"given_name", "--given"},
        {"birth_date", "--birth-date"},
        {"sex", "--sex"},
        {"login", "--login"},
        {"display_name", "--display-name"},
        {"role", "--role"},
        {"password", "--password (NEUROPLAN_PASSWORD)"},
        {"user", "--user"},
        {"db", "--db"},
        {"rules", "--rules"},
        {"evaluation", "--evaluation"},
        {"rtms", "--rtms"},
        {"vns", "--vns"},
        {"reason", "--reason"},
        {"template", "--template"},
        {"case", "CASE"},
        {"protocol", "FILE"},
        {"version", "--version"},
        {"course", "--course"},
        {"label", "--label"},
        {"kind", "--kind"},
        {"measured_on", "--date"},
        {"value_percent_mso", "--value"},
        {"method", "--method"},
        {"device", "--device"},
        {"coil", "--coil"},
        {"acknowledge_warnings", "--acknowledge-warnings"},
        {"override_reason", "--override-reason"},
        {"visit_on", "--date"},
        {"current_ma", "--current"},
        {"lead_impedance_ohm", "--impedance"},
        {"instrument", "--instrument"},
        {"items", "--items"},
        {"total", "--total"},
        {"context", "--context"},
        {"session", "--session"},
        {"band_set", "--band-set"},
        {"baseline", "--baseline"},
        {"start", "--start"},
        {"from", "--from"},
        {"to", "--to"},
        {"protocol_version", "--protocol"},
        {"rhythm", "--rhythm"},
        {"appointment", "--appointment"},
        {"date", "--date"},
        {"time", "--time"},
        {"room", "--room"},
        {"technician", "--technician"},
        {"time_zone", "--time-zone"},
        {"missed_rule", "--missed-rule"},
        {"week", "--week"},
        {"hours", "--hours"},
        {"name", "--name"},
        {"model", "--model"},
        {"serial", "--serial"},
        {"code", "--code"},
        {"ics", "--ics"},
        {"session_id", "ID"},
        {"screening_confirmed", "--screening-confirmed"},
        {"operator", "--operator"},
        {"type", "--type"},
        {"severity", "--severity"},
        {"action", "--action"},
        {"note", "--note"},
        {"tls_cert", "--tls-cert"},
    };
    const auto it = kOptions.find(field);
    return it == kOptions.end() ? field : it->second;
}

int exitCodeFor(ErrorCode code) {
    switch (code) {
        case ErrorCode::InvalidInput:
        case ErrorCode::NotFound:
        case ErrorCode::Conflict:
        case ErrorCode::IncompatibleStore:
            return kExitUsage;
        case ErrorCode::Unauthenticated:
        case ErrorCode::PermissionDenied:
            return kExitNotPermitted;
        case ErrorCode::Storage:
        case ErrorCode::Internal:
            return kExitFailure;
    }
    return kExitFailure;
}

std::string envOr(const char* name) {
    const char* value = std::getenv(name);
    return value && *value ? std::string(value) : std::string();
}

}  // namespace

std::optional<std::string> readPassword(const char* envName, const std::string& prompt) {
    if (const std::string value = envOr(envName); !value.empty()) {
        return value;
    }
    std::ifstream tty("/dev/tty");
    if (!tty || !isatty(STDIN_FILENO)) {
        return std::nullopt;
    }
    std::cerr << prompt << std::flush;
    termios saved{};
    tcgetattr(STDIN_FILENO, &saved);
    termios silent = saved;
    silent.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    tcsetattr(STDIN_FILENO, TCSANOW, &silent);
    std::string password;
    std::getline(tty, password);
    tcsetattr(STDIN_FILENO, TCSANOW, &saved);
    std::cerr << '\n';
    return password;
}

Result<std::string> readTextFile(const std::string& path, std::string_view field) {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(path, ec)) {
        return makeError(ErrorCode::InvalidInput, std::string(field),
                         "no readable file '" + path + "'");
    }
    std::ifstream in(path, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    if (!in && !in.eof()) {
        return makeError(ErrorCode::InvalidInput, std::string(field), "cannot read '" + path + "'");
    }
    return text.str();
}

Result<store::Store> Context::openStore(bool create) const {
    std::filesystem::path path = dbPath;
    if (path.empty()) {
        path = store::defaultDatabasePath();
        if (create) {
            // The default location is ours to make; an explicit --db directory is not.
            std::error_code ec;
            std::filesystem::create_directories(path.parent_path(), ec);
        }
    }
    store::OpenOptions options;
    options.createIfMissing = create;
    auto opened = store::Store::open(path, options);
    if (!opened && opened.error().code == ErrorCode::NotFound) {
        return makeError(ErrorCode::NotFound, "db",
                         opened.error().message + "; create it with 'neuroplan-cli init'");
    }
    return opened;
}

Result<records::Actor> Context::signIn(store::Store& store) const {
    const std::string login = user.empty() ? envOr("NEUROPLAN_USER") : user;
    if (login.empty()) {
        return makeError(ErrorCode::InvalidInput, "user",
                         "required: name the acting user with --user or NEUROPLAN_USER");
    }
    auto password = readPassword("NEUROPLAN_PASSWORD", "Password for " + login + ": ");
    if (!password) {
        return makeError(ErrorCode::InvalidInput, "password",
                         "required: set NEUROPLAN_PASSWORD or run on a terminal");
    }
    return records::UserService(store).authenticate(login, *password);
}

int Context::failInFile(const Error& error) const {
    static const std::map<std::string, std::string> kFileOptions = {
        {"case", "CASE"},           {"protocol", "FILE"}, {"rules", "--rules"},
        {"template", "--template"}, {"mrn", "--mrn"},     {"course", "--course"}};
    const auto it = kFileOptions.find(error.field);
    const std::string where = it == kFileOptions.end() ? error.field : it->second;
    err << "neuroplan-cli: error: " << (where.empty() ? "" : where + ": ") << error.message << '\n';
    return exitCodeFor(error.code);
}

int Context::fail(const Error& error) const {
    const std::string where = optionForField(error.field);
    err << "neuroplan-cli: error: " << (where.empty() ? "" : where + ": ") << error.message << '\n';
    return exitCodeFor(error.code);
}

int run(int argc, const char* const* argv, std::ostream& out, std::ostream& err) {
    Context ctx{out, err, {}, {}, false, {}};
    CLI::App app{"NeuroPlan command line: records, eligibility and sessions for clinic scripts.",
                 "neuroplan-cli"};
    app.fallthrough();  // --db, --user and --json may follow the subcommand too
    app.require_subcommand(1);
    app.set_version_flag("--version", NEUROPLAN_VERSION);
    app.add_option("--db", ctx.dbPath,
                   "Database file (default: $NEUROPLAN_DB, else the user's data directory)");
    app.add_option("--user", ctx.user,
                   "Acting user's login (default: $NEUROPLAN_USER); the password comes from "
                   "$NEUROPLAN_PASSWORD or the terminal");
    app.add_flag("--json", ctx.json, "Machine-readable JSON output");
    app.footer(
        "Exit codes: 0 ok, 1 check failed or storage error, 2 bad usage or input "
        "(nothing written), 3 not authenticated or not permitted.");

    registerRecordCommands(app, ctx);
    registerEligibilityCommands(app, ctx);
    registerProtocolCommands(app, ctx);
    registerCourseCommands(app, ctx);
    registerScaleCommands(app, ctx);
    registerDeviceCommands(app, ctx);
    registerScheduleCommands(app, ctx);
    registerSessionCommands(app, ctx);

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        if (e.get_exit_code() == 0) {  // --help, --version
            return app.exit(e, out, err);
        }
        err << "neuroplan-cli: error: " << e.what() << " (see --help)\n";
        return kExitUsage;
    }
    for (const auto& [command, handler] : ctx.handlers) {
        if (command->parsed()) {
            return handler();
        }
    }
    err << "neuroplan-cli: error: no command given (see --help)\n";
    return kExitUsage;
}

}  // namespace neuroplan::cli
