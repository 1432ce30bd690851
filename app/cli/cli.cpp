#include "cli.h"

#include <termios.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "records/patients.h"
#include "records/users.h"
#include "store/store.h"

namespace neuroplan::cli {

namespace {

using nlohmann::json;
using records::Actor;

/// Options shared by every command.
struct Globals {
    std::string dbPath;
    std::string user;
    bool json = false;
};

/// A core field name as the option that carries it (birth_date -> --birth-date).
std::string optionForField(const std::string& field) {
    static const std::map<std::string, std::string> kOverrides = {
        {"family_name", "--family"},
        {"given_name", "--given"},
        {"user", "--user"},
        {"role", "--role"},
        {"db", "--db"},
    };
    if (field.empty()) {
        return {};
    }
    if (auto it = kOverrides.find(field); it != kOverrides.end()) {
        return it->second;
    }
    std::string option = "--" + field;
    for (char& c : option) {
        if (c == '_') {
            c = '-';
        }
    }
    return option;
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

int fail(std::ostream& err, const Error& error) {
    const std::string option = optionForField(error.field);
    err << "neuroplan-cli: error: " << (option.empty() ? "" : option + ": ") << error.message
        << '\n';
    return exitCodeFor(error.code);
}

std::string envOr(const char* name, std::string fallback = {}) {
    const char* value = std::getenv(name);
    return value && *value ? std::string(value) : std::move(fallback);
}

/// A password from the environment, else typed on the terminal without echo.
std::optional<std::string> readPassword(const char* envName, const std::string& prompt) {
    if (const char* value = std::getenv(envName); value && *value) {
        return std::string(value);
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

Result<store::Store> openStore(const Globals& globals, bool create) {
    std::filesystem::path path = globals.dbPath;
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

Result<Actor> authenticate(store::Store& store, const Globals& globals) {
    const std::string login = globals.user.empty() ? envOr("NEUROPLAN_USER") : globals.user;
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

void printPatientTable(std::ostream& out, const std::vector<records::Patient>& patients) {
    std::size_t mrnWidth = 3;
    std::size_t familyWidth = 6;
    std::size_t givenWidth = 5;
    for (const auto& p : patients) {
        mrnWidth = std::max(mrnWidth, p.mrn.size());
        familyWidth = std::max(familyWidth, p.familyName.size());
        givenWidth = std::max(givenWidth, p.givenName.size());
    }
    const auto row = [&](std::string_view mrn, std::string_view family, std::string_view given,
                         std::string_view birth, std::string_view sex) {
        out << std::left << std::setw(static_cast<int>(mrnWidth)) << mrn << "  "
            << std::setw(static_cast<int>(familyWidth)) << family << "  "
            << std::setw(static_cast<int>(givenWidth)) << given << "  " << std::setw(10) << birth
            << "  " << sex << '\n';
    };
    row("MRN", "Family", "Given", "Birth date", "Sex");
    for (const auto& p : patients) {
        row(p.mrn, p.familyName, p.givenName, p.birthDate, p.sex);
    }
}

}  // namespace

int run(int argc, const char* const* argv, std::ostream& out, std::ostream& err) {
    Globals globals;
    CLI::App app{"NeuroPlan command line: records, eligibility and sessions for clinic scripts.",
                 "neuroplan-cli"};
    app.fallthrough();  // --db, --user and --json may follow the subcommand too
    app.require_subcommand(1);
    app.set_version_flag("--version", NEUROPLAN_VERSION);
    app.add_option("--db", globals.dbPath,
                   "Database file (default: $NEUROPLAN_DB, else the user's data directory)");
    app.add_option("--user", globals.user,
                   "Acting user's login (default: $NEUROPLAN_USER); the password comes from "
                   "$NEUROPLAN_PASSWORD or the terminal");
    app.add_flag("--json", globals.json, "Machine-readable JSON output");
    app.footer(
        "Exit codes: 0 ok, 1 check failed or storage error, 2 bad usage or input "
        "(nothing written), 3 not authenticated or not permitted.");

    // init
    std::string adminLogin = "admin";
    std::string adminName = "Administrator";
    auto* init = app.add_subcommand(
        "init", "Create the database if missing, and its first administrator if it has no users");
    init->add_option("--admin", adminLogin, "Login of the first administrator")
        ->capture_default_str();
    init->add_option("--display-name", adminName, "Display name of the first administrator")
        ->capture_default_str();

    // patient
    auto* patient = app.add_subcommand("patient", "Register and look up patients");
    patient->require_subcommand(1);
    records::PatientInput input;
    auto* patientAdd = patient->add_subcommand("add", "Register a patient");
    patientAdd->add_option("--mrn", input.mrn, "Medical record number (unique)")->required();
    patientAdd->add_option("--family", input.familyName, "Family name")->required();
    patientAdd->add_option("--given", input.givenName, "Given name")->required();
    patientAdd->add_option("--birth-date", input.birthDate, "Birth date, YYYY-MM-DD")->required();
    patientAdd->add_option("--sex", input.sex, "female | male | other | unknown")->required();
    auto* patientList = patient->add_subcommand("list", "List patients by name");
    std::string showMrn;
    auto* patientShow = patient->add_subcommand("show", "Show one patient");
    patientShow->add_option("--mrn", showMrn, "Medical record number")->required();

    // user
    auto* user = app.add_subcommand("user", "Manage users (administrators only)");
    user->require_subcommand(1);
    records::NewUser newUser;
    bool generate = false;
    auto* userAdd = user->add_subcommand(
        "add",
        "Create a user; the password comes from $NEUROPLAN_NEW_PASSWORD, the terminal, "
        "or --generate-password");
    userAdd->add_option("--login", newUser.login, "Login name")->required();
    userAdd->add_option("--display-name", newUser.displayName, "Name shown in records")->required();
    userAdd->add_option("--role", newUser.role, "technician | physician | admin")->required();
    userAdd->add_flag("--generate-password", generate, "Generate a password and print it once");
    auto* userList = user->add_subcommand("list", "List users");

    // audit
    auto* audit = app.add_subcommand("audit", "Check the audit trail");
    audit->require_subcommand(1);
    auto* auditVerify = audit->add_subcommand(
        "verify",
        "Recompute the audit hash chain; exit 0 and OK when intact, 1 and the first "
        "broken entry otherwise");

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        if (e.get_exit_code() == 0) {  // --help, --version
            return app.exit(e, out, err);
        }
        err << "neuroplan-cli: error: " << e.what() << " (see --help)\n";
        return kExitUsage;
    }

    auto store = openStore(globals, init->parsed());
    if (!store) {
        return fail(err, store.error());
    }

    if (init->parsed()) {
        records::UserService users(*store);
        auto any = users.hasUsers();
        if (!any) {
            return fail(err, any.error());
        }
        if (*any) {
            out << (globals.json
                        ? json{{"database", store->path().string()}, {"created_admin", nullptr}}
                              .dump(2)
                        : "database " + store->path().string() + " is ready; it has users already")
                << '\n';
            return kExitOk;
        }
        const bool generated = envOr("NEUROPLAN_PASSWORD").empty();
        const std::string password =
            generated ? records::generatePassword() : envOr("NEUROPLAN_PASSWORD");
        auto admin = users.bootstrapAdmin({adminLogin, adminName, "admin", password});
        if (!admin) {
            return fail(err, admin.error());
        }
        if (globals.json) {
            json result{{"database", store->path().string()}, {"created_admin", admin->login}};
            if (generated) {
                result["password"] = password;
            }
            out << result.dump(2) << '\n';
        } else {
            out << "database " << store->path().string() << " is ready\n"
                << "created administrator '" << admin->login << "'";
            if (generated) {
                out << " with password: " << password
                    << "\n(shown once; keep it safe, then create named users)";
            }
            out << '\n';
        }
        return kExitOk;
    }

    if (auditVerify->parsed()) {
        auto verdict = store->verifyAudit();
        if (!verdict) {
            return fail(err, verdict.error());
        }
        if (globals.json) {
            out << json{{"intact", verdict->intact},
                        {"entries", verdict->entries},
                        {"first_broken_id",
                         verdict->firstBrokenId ? json(*verdict->firstBrokenId) : json(nullptr)},
                        {"problem", verdict->problem}}
                       .dump(2)
                << '\n';
        } else if (verdict->intact) {
            out << "OK: " << verdict->entries << " audit entries, hash chain intact\n";
        } else {
            out << "BROKEN: audit entry " << *verdict->firstBrokenId << ": " << verdict->problem
                << '\n';
        }
        return verdict->intact ? kExitOk : kExitFailure;
    }

    auto actor = authenticate(*store, globals);
    if (!actor) {
        return fail(err, actor.error());
    }

    if (patientAdd->parsed()) {
        auto added = records::PatientService(*store).add(*actor, input);
        if (!added) {
            return fail(err, added.error());
        }
        if (globals.json) {
            out << records::toJson(*added).dump(2) << '\n';
        } else {
            out << "added patient " << added->mrn << " (" << added->familyName << ", "
                << added->givenName << ")\n";
        }
        return kExitOk;
    }
    if (patientList->parsed()) {
        auto patients = records::PatientService(*store).list(*actor);
        if (!patients) {
            return fail(err, patients.error());
        }
        if (globals.json) {
            json array = json::array();
            for (const auto& p : *patients) {
                array.push_back(records::toJson(p));
            }
            out << array.dump(2) << '\n';
        } else {
            printPatientTable(out, *patients);
        }
        return kExitOk;
    }
    if (patientShow->parsed()) {
        auto found = records::PatientService(*store).findByMrn(*actor, showMrn);
        if (!found) {
            return fail(err, found.error());
        }
        if (globals.json) {
            out << records::toJson(*found).dump(2) << '\n';
        } else {
            out << "MRN:        " << found->mrn << '\n'
                << "Name:       " << found->familyName << ", " << found->givenName << '\n'
                << "Birth date: " << found->birthDate << '\n'
                << "Sex:        " << found->sex << '\n'
                << "Registered: " << found->createdUtc << '\n';
        }
        return kExitOk;
    }
    if (userAdd->parsed()) {
        if (generate) {
            newUser.password = records::generatePassword();
        } else if (auto typed = readPassword("NEUROPLAN_NEW_PASSWORD",
                                             "New password for " + newUser.login + ": ")) {
            newUser.password = *typed;
        } else {
            return fail(err, makeError(ErrorCode::InvalidInput, "password",
                                       "required: set NEUROPLAN_NEW_PASSWORD, run on a terminal "
                                       "or pass --generate-password"));
        }
        auto created = records::UserService(*store).create(*actor, newUser);
        if (!created) {
            return fail(err, created.error());
        }
        if (globals.json) {
            json result{{"id", created->id},
                        {"login", created->login},
                        {"role", records::toString(created->role)}};
            if (generate) {
                result["password"] = newUser.password;
            }
            out << result.dump(2) << '\n';
        } else {
            out << "created " << records::toString(created->role) << " '" << created->login << "'";
            if (generate) {
                out << " with password: " << newUser.password << " (shown once)";
            }
            out << '\n';
        }
        return kExitOk;
    }
    if (userList->parsed()) {
        auto users = records::UserService(*store).list(*actor);
        if (!users) {
            return fail(err, users.error());
        }
        json array = json::array();
        for (const auto& u : *users) {
            if (globals.json) {
                array.push_back({{"login", u.login},
                                 {"display_name", u.displayName},
                                 {"role", records::toString(u.role)},
                                 {"active", u.active}});
            } else {
                out << u.login << "  " << records::toString(u.role) << "  " << u.displayName
                    << (u.active ? "" : "  (inactive)") << '\n';
            }
        }
        if (globals.json) {
            out << array.dump(2) << '\n';
        }
        return kExitOk;
    }
    err << "neuroplan-cli: error: no command given (see --help)\n";
    return kExitUsage;
}

}  // namespace neuroplan::cli
