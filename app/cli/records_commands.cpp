// neuroplan-cli init | patient | user | audit
#include <CLI/CLI.hpp>
#include <algorithm>
#include <iomanip>
#include <memory>
#include <nlohmann/json.hpp>

#include "context.h"
#include "records/patients.h"
#include "records/users.h"

namespace neuroplan::cli {

namespace {

using nlohmann::json;

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

int initDatabase(Context& ctx, const std::string& login, const std::string& name) {
    auto store = ctx.openStore(true);
    if (!store) {
        return ctx.fail(store.error());
    }
    records::UserService users(*store);
    auto any = users.hasUsers();
    if (!any) {
        return ctx.fail(any.error());
    }
    if (*any) {
        if (ctx.json) {
            ctx.out << json{{"database", store->path().string()}, {"created_admin", nullptr}}.dump(
                           2)
                    << '\n';
        } else {
            ctx.out << "database " << store->path().string() << " is ready; it has users already\n";
        }
        return ctx.ok();
    }
    const char* given = std::getenv("NEUROPLAN_PASSWORD");
    const bool generated = given == nullptr || *given == '\0';
    const std::string password = generated ? records::generatePassword() : std::string(given);
    auto admin = users.bootstrapAdmin({login, name, "admin", password});
    if (!admin) {
        return ctx.fail(admin.error());
    }
    if (ctx.json) {
        json result{{"database", store->path().string()}, {"created_admin", admin->login}};
        if (generated) {
            result["password"] = password;
        }
        ctx.out << result.dump(2) << '\n';
    } else {
        ctx.out << "database " << store->path().string() << " is ready\n"
                << "created administrator '" << admin->login << "'";
        if (generated) {
            ctx.out << " with password: " << password
                    << "\n(shown once; keep it safe, then create named users)";
        }
        ctx.out << '\n';
    }
    return ctx.ok();
}

int auditVerify(Context& ctx) {
    auto store = ctx.openStore(false);
    if (!store) {
        return ctx.fail(store.error());
    }
    auto verdict = store->verifyAudit();
    if (!verdict) {
        return ctx.fail(verdict.error());
    }
    if (ctx.json) {
        ctx.out << json{{"intact", verdict->intact},
                        {"entries", verdict->entries},
                        {"first_broken_id",
                         verdict->firstBrokenId ? json(*verdict->firstBrokenId) : json(nullptr)},
                        {"problem", verdict->problem}}
                       .dump(2)
                << '\n';
    } else if (verdict->intact) {
        ctx.out << "OK: " << verdict->entries << " audit entries, hash chain intact\n";
    } else {
        ctx.out << "BROKEN: audit entry " << *verdict->firstBrokenId << ": " << verdict->problem
                << '\n';
    }
    return verdict->intact ? kExitOk : kExitFailure;
}

}  // namespace

void registerRecordCommands(CLI::App& app, Context& ctx) {
    // init
    auto admin = std::make_shared<std::pair<std::string, std::string>>("admin", "Administrator");
    auto* init = app.add_subcommand(
        "init",
        "Create the database if missing, and its first administrator if it has no users "
        "(password from $NEUROPLAN_PASSWORD, else generated and printed once)");
    init->add_option("--admin", admin->first, "Login of the first administrator")
        ->capture_default_str();
    init->add_option("--display-name", admin->second, "Display name of the first administrator")
        ->capture_default_str();
    ctx.on(init, [&ctx, admin] { return initDatabase(ctx, admin->first, admin->second); });

    // patient
    auto* patient = app.add_subcommand("patient", "Register and look up patients");
    patient->require_subcommand(1);
    auto input = std::make_shared<records::PatientInput>();
    auto* add = patient->add_subcommand("add", "Register a patient");
    add->add_option("--mrn", input->mrn, "Medical record number (unique)")->required();
    add->add_option("--family", input->familyName, "Family name")->required();
    add->add_option("--given", input->givenName, "Given name")->required();
    add->add_option("--birth-date", input->birthDate, "Birth date, YYYY-MM-DD")->required();
    add->add_option("--sex", input->sex, "female | male | other | unknown")->required();
    ctx.on(add, [&ctx, input] {
        return withSignedIn(ctx, [&](store::Store& store, const records::Actor& actor) {
            auto added = records::PatientService(store).add(actor, *input);
            if (!added) {
                return ctx.fail(added.error());
            }
            if (ctx.json) {
                ctx.out << records::toJson(*added).dump(2) << '\n';
            } else {
                ctx.out << "added patient " << added->mrn << " (" << added->familyName << ", "
                        << added->givenName << ")\n";
            }
            return ctx.ok();
        });
    });

    ctx.on(patient->add_subcommand("list", "List patients by name"), [&ctx] {
        return withSignedIn(ctx, [&](store::Store& store, const records::Actor& actor) {
            auto patients = records::PatientService(store).list(actor);
            if (!patients) {
                return ctx.fail(patients.error());
            }
            if (ctx.json) {
                json array = json::array();
                for (const auto& p : *patients) {
                    array.push_back(records::toJson(p));
                }
                ctx.out << array.dump(2) << '\n';
            } else {
                printPatientTable(ctx.out, *patients);
            }
            return ctx.ok();
        });
    });

    auto showMrn = std::make_shared<std::string>();
    auto* show = patient->add_subcommand("show", "Show one patient");
    show->add_option("--mrn", *showMrn, "Medical record number")->required();
    ctx.on(show, [&ctx, showMrn] {
        return withSignedIn(ctx, [&](store::Store& store, const records::Actor& actor) {
            auto found = records::PatientService(store).findByMrn(actor, *showMrn);
            if (!found) {
                return ctx.fail(found.error());
            }
            if (ctx.json) {
                ctx.out << records::toJson(*found).dump(2) << '\n';
            } else {
                ctx.out << "MRN:        " << found->mrn << '\n'
                        << "Name:       " << found->familyName << ", " << found->givenName << '\n'
                        << "Birth date: " << found->birthDate << '\n'
                        << "Sex:        " << found->sex << '\n'
                        << "Registered: " << found->createdUtc << '\n';
            }
            return ctx.ok();
        });
    });

    // user
    auto* user = app.add_subcommand("user", "Manage users (administrators only)");
    user->require_subcommand(1);
    struct UserAdd {
        records::NewUser user;
        bool generate = false;
    };
    auto newUser = std::make_shared<UserAdd>();
    auto* userAdd = user->add_subcommand(
        "add",
        "Create a user; the password comes from $NEUROPLAN_NEW_PASSWORD, the terminal, "
        "or --generate-password");
    userAdd->add_option("--login", newUser->user.login, "Login name")->required();
    userAdd->add_option("--display-name", newUser->user.displayName, "Name shown in records")
        ->required();
    userAdd->add_option("--role", newUser->user.role, "technician | physician | admin")->required();
    userAdd->add_flag("--generate-password", newUser->generate,
                      "Generate a password and print it once");
    ctx.on(userAdd, [&ctx, newUser] {
        return withSignedIn(ctx, [&](store::Store& store, const records::Actor& actor) {
            records::NewUser account = newUser->user;
            if (newUser->generate) {
                account.password = records::generatePassword();
            } else if (auto typed = readPassword("NEUROPLAN_NEW_PASSWORD",
                                                 "New password for " + account.login + ": ")) {
                account.password = *typed;
            } else {
                return ctx.fail(makeError(ErrorCode::InvalidInput, "password",
                                          "required: set NEUROPLAN_NEW_PASSWORD, run on a "
                                          "terminal or pass --generate-password"));
            }
            auto created = records::UserService(store).create(actor, account);
            if (!created) {
                return ctx.fail(created.error());
            }
            if (ctx.json) {
                json result{{"id", created->id},
                            {"login", created->login},
                            {"role", records::toString(created->role)}};
                if (newUser->generate) {
                    result["password"] = account.password;
                }
                ctx.out << result.dump(2) << '\n';
            } else {
                ctx.out << "created " << records::toString(created->role) << " '" << created->login
                        << "'";
                if (newUser->generate) {
                    ctx.out << " with password: " << account.password << " (shown once)";
                }
                ctx.out << '\n';
            }
            return ctx.ok();
        });
    });

    ctx.on(user->add_subcommand("list", "List users"), [&ctx] {
        return withSignedIn(ctx, [&](store::Store& store, const records::Actor& actor) {
            auto users = records::UserService(store).list(actor);
            if (!users) {
                return ctx.fail(users.error());
            }
            json array = json::array();
            for (const auto& u : *users) {
                if (ctx.json) {
                    array.push_back({{"login", u.login},
                                     {"display_name", u.displayName},
                                     {"role", records::toString(u.role)},
                                     {"active", u.active}});
                } else {
                    ctx.out << u.login << "  " << records::toString(u.role) << "  " << u.displayName
                            << (u.active ? "" : "  (inactive)") << '\n';
                }
            }
            if (ctx.json) {
                ctx.out << array.dump(2) << '\n';
            }
            return ctx.ok();
        });
    });

    // audit
    auto* audit = app.add_subcommand("audit", "Check the audit trail");
    audit->require_subcommand(1);
    ctx.on(audit->add_subcommand("verify",
                                 "Recompute the audit hash chain; exit 0 and OK when intact, 1 "
                                 "and the first broken entry otherwise"),
           [&ctx] { return auditVerify(ctx); });
}

}  // namespace neuroplan::cli
