// neuroplan-cli session ... — runs treatment sessions against a device and reads their record:
// run (check in, checklist, load and read back, start, follow to the end; SIGINT stops it
// cleanly), resume and close an interrupted one, recover after a crash, adverse events, show,
// list, course progress and clearing a course's physician review.
#include <utility>  // before Asio (Boost 1.74 with C++20)

#include <unistd.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <csignal>
#include <iostream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <ostream>

#include "context.h"
#include "sessions/runner.h"
#include "sessions/service.h"

namespace neuroplan::cli {

namespace {

using nlohmann::json;
namespace ses = neuroplan::sessions;

std::atomic<bool> g_interrupted{false};

extern "C" void onSigint(int) {
    g_interrupted = true;
}

/// SIGINT (and SIGTERM) set a flag while a session runs; the loop stops the device cleanly.
class InterruptGuard {
  public:
    InterruptGuard() {
        g_interrupted = false;
        struct sigaction action {};
        action.sa_handler = onSigint;
        sigemptyset(&action.sa_mask);
        sigaction(SIGINT, &action, &m_oldInt);
        sigaction(SIGTERM, &action, &m_oldTerm);
    }
    ~InterruptGuard() {
        sigaction(SIGINT, &m_oldInt, nullptr);
        sigaction(SIGTERM, &m_oldTerm, nullptr);
    }

  private:
    struct sigaction m_oldInt {};
    struct sigaction m_oldTerm {};
};

struct RunOptions {
    std::string mrn;
    std::int64_t protocol = 0;
    std::string device;
    std::string operatorLogin;
    bool screeningConfirmed = false;
    int connectTimeoutMs = 5000;
    std::string cert, key, ca;
    bool plaintext = false;
};

Result<records::Actor> findOperator(store::Store& store, const std::string& login) {
    auto row = store.db().prepare(
        "SELECT id, login, display_name, role FROM users WHERE login = ? AND active = 1");
    NP_TRY(row);
    row->bindAll(login);
    auto found = row->step();
    NP_TRY(found);
    if (!*found) {
        return makeError(ErrorCode::NotFound, "operator", "no active user '" + login + "'");
    }
    auto role = records::parseRole(row->columnText(3), "operator");
    NP_TRY(role);
    return records::Actor{row->columnInt(0), row->columnText(1), row->columnText(2), *role};
}

std::string formatChecklist(const ses::Checklist& list) {
    std::string text;
    for (const auto& item : list.items) {
        text +=
            std::string(item.ok ? "  [ok] " : "  [--] ") + item.label + ": " + item.detail + "\n";
    }
    return text;
}

/// Drives one session from its current state to its end (run and resume share it).
int drive(const Context& ctx, store::Store& store, const records::Actor& actor,
          std::int64_t sessionId, const RunOptions& o) {
    std::mutex outputMutex;
    const auto say = [&](const std::string& line) {
        std::lock_guard lock(outputMutex);
        ctx.err << line << '\n';
    };
    const auto emit = [&](const json& j) {
        if (ctx.json) {
            std::lock_guard lock(outputMutex);
            ctx.out << j.dump() << '\n' << std::flush;
        }
    };
    ses::RunnerOptions options;
    options.database = store.path();
    options.actor = actor;
    options.sessionId = sessionId;
    options.connectWait = std::chrono::milliseconds(o.connectTimeoutMs);
    options.autoResumeAfterLinkLoss = true;
    options.allowPlaintext = o.plaintext;
    if (!o.cert.empty() || !o.key.empty() || !o.ca.empty()) {
        if (o.cert.empty() || o.key.empty() || o.ca.empty()) {
            return ctx.fail(makeError(ErrorCode::InvalidInput, "tls_cert",
                                      "TLS needs --tls-cert, --tls-key and --tls-ca together"));
        }
        options.tls = device::TlsConfig{o.cert, o.key, o.ca};
    }
    std::uint32_t lastTrains = 0;
    auto runner = ses::SessionRunner::open(options, [&](const ses::RunnerEvent& event) {
        using Kind = ses::RunnerEvent::Kind;
        switch (event.kind) {
            case Kind::Journal:
                emit(json{{"type", "event"},
                          {"session", sessionId},
                          {"event", ses::toJson(ses::StoredEvent{0, event.journal})}});
                if (event.journal.kind == "train_finished" && event.journal.trains &&
                    static_cast<std::uint32_t>(*event.journal.trains) != lastTrains) {
                    lastTrains = static_cast<std::uint32_t>(*event.journal.trains);
                    say("session " + std::to_string(sessionId) + ": train " +
                        std::to_string(lastTrains) + "/" +
                        std::to_string(event.progress.trainsPlanned) + ", " +
                        std::to_string(event.journal.pulses.value_or(0)) + "/" +
                        std::to_string(event.progress.pulsesPlanned) + " pulses");
                }
                break;
            case Kind::Status:
                emit(json{{"type", "status"},
                          {"session", sessionId},
                          {"status", ses::toString(event.progress.status)},
                          {"reason", event.detail}});
                say("session " + std::to_string(sessionId) + ": " +
                    ses::toString(event.progress.status) +
                    (event.detail.empty() ? "" : " (" + event.detail + ")"));
                break;
            case Kind::Link:
                say("session " + std::to_string(sessionId) + ": " + event.detail);
                break;
            case Kind::Telemetry:
            case Kind::Ended:
                break;
        }
    });
    if (!runner) {
        return ctx.fail(runner.error());
    }
    auto checklist = (*runner)->prepare(o.screeningConfirmed);
    if (!checklist) {
        return ctx.fail(checklist.error());
    }
    say("session " + std::to_string(sessionId) + " checklist:\n" + formatChecklist(*checklist));
    emit(json{
        {"type", "checklist"}, {"session", sessionId}, {"checklist", ses::toJson(*checklist)}});
    if (!checklist->allOk()) {
        const ses::CheckItem* failed = checklist->firstFailure();
        (void)(*runner)->stop("not ready: " + failed->label + ": " + failed->detail);
        return ctx.fail(makeError(ErrorCode::Conflict, "session_id",
                                  "session " + std::to_string(sessionId) +
                                      " aborted: " + failed->label + ": " + failed->detail));
    }
    InterruptGuard guard;
    if (auto started = (*runner)->start(); !started) {
        (*runner)->waitForEnd(std::chrono::seconds(2));
        return ctx.fail(started.error());
    }
    while (!(*runner)->waitForEnd(std::chrono::milliseconds(50))) {
        if (g_interrupted) {
            say("session " + std::to_string(sessionId) + ": interrupted by the operator, stopping");
            (void)(*runner)->stop("operator interrupt (SIGINT)");
            g_interrupted = false;
        }
        (*runner)->pollStopRequest();
    }
    runner->reset();  // flushes the journal, releases the lock
    auto session = ses::loadSession(store.db(), sessionId);
    if (!session) {
        return ctx.fail(session.error());
    }
    emit(json{{"type", "end"}, {"session", ses::toJson(*session)}});
    say("session " + std::to_string(sessionId) + " " + ses::toString(session->status) + ": " +
        std::to_string(session->devicePulses.value_or(0)) + " pulses delivered (device), " +
        std::to_string(session->loggedPulses.value_or(0)) + " journaled; reconciliation: " +
        (session->reconciliation.empty() ? "none" : session->reconciliation));
    return session->status == ses::SessionStatus::Completed ? ctx.ok() : kExitFailure;
}

Status needScreening(RunOptions& o) {
    if (o.screeningConfirmed) {
        return {};
    }
    if (::isatty(STDIN_FILENO) != 0) {
        std::cerr << "Safety screening re-confirmed with the patient today? [y/N] " << std::flush;
        std::string answer;
        std::getline(std::cin, answer);
        o.screeningConfirmed = answer == "y" || answer == "Y" || answer == "yes";
        if (o.screeningConfirmed) {
            return {};
        }
    }
    return makeError(ErrorCode::InvalidInput, "screening_confirmed",
                     "required: re-confirm the safety screening with the patient, then pass "
                     "--screening-confirmed (or answer the prompt on a terminal)");
}

void addDeviceOptions(CLI::App* command, RunOptions& o) {
    command->add_option("--connect-timeout-ms", o.connectTimeoutMs,
                        "How long to wait for the device (default 5000)");
    command->add_option("--tls-cert", o.cert, "PEM certificate of this controller");
    command->add_option("--tls-key", o.key, "PEM private key of this controller");
    command->add_option("--tls-ca", o.ca, "PEM certificate of the clinic CA");
    command->add_flag("--plaintext", o.plaintext,
                      "Allow plaintext to a device that is not on this machine (explicit risk)");
    command->add_flag("--screening-confirmed", o.screeningConfirmed,
                      "The safety screening was re-confirmed with the patient today");
}

std::string sessionLine(const ses::Session& s) {
    return "session " + std::to_string(s.id) + "  " + s.mrn + "  course " +
           std::to_string(s.courseId) + " (" + s.courseLabel + ")  protocol v" +
           std::to_string(s.protocolVersion) + "  " + ses::toString(s.status) + "  " +
           std::to_string(s.devicePulses.value_or(0)) + "/" + std::to_string(s.pulsesPlanned) +
           " pulses" + (s.statusReason.empty() ? "" : "  (" + s.statusReason + ")");
}

}  // namespace

void registerSessionCommands(CLI::App& app, Context& ctx) {
    auto* session = app.add_subcommand("session", "Treatment sessions: run, recover, record");
    session->require_subcommand(1);

    // ---- run --------------------------------------------------------------------------------
    auto run = std::make_shared<RunOptions>();
    auto* runCmd = session->add_subcommand(
        "run", "Check in, run the checklist, load and read back, stimulate to the end");
    runCmd->add_option("--mrn", run->mrn, "Patient MRN")->required();
    runCmd->add_option("--protocol", run->protocol, "Protocol version id (approved)")->required();
    runCmd->add_option("--device", run->device, "HOST:PORT of the stimulator")->required();
    runCmd->add_option("--operator", run->operatorLogin,
                       "Technician operating (default: the signed-in user)");
    addDeviceOptions(runCmd, *run);
    ctx.on(runCmd, [&ctx, run] {
        RunOptions o = *run;
        if (auto address = device::parseDeviceAddress(o.device, "device"); !address) {
            return ctx.fail(address.error());
        }
        return withSignedIn(ctx, [&](store::Store& store, const records::Actor& signedIn) {
            records::Actor actor = signedIn;
            if (!o.operatorLogin.empty()) {
                auto found = findOperator(store, o.operatorLogin);
                if (!found) {
                    return ctx.fail(found.error());
                }
                actor = *found;
            }
            ses::SessionService service(store);
            // An interrupted session of this patient is recovered and closed (or resumed) first.
            auto open = service.list(actor, o.mrn);
            if (!open) {
                return ctx.fail(open.error());
            }
            for (const auto& s : *open) {
                if (s.status == ses::SessionStatus::Interrupted || ses::isActive(s.status)) {
                    return ctx.fail(makeError(
                        ErrorCode::Conflict, "mrn",
                        "session " + std::to_string(s.id) + " of " + s.mrn + " is " +
                            ses::toString(s.status) +
                            "; run 'session recover', then 'session resume' or 'session close'"));
                }
            }
            if (auto screening = needScreening(o); !screening) {
                return ctx.fail(screening.error());
            }
            auto checkedIn = service.checkIn(actor, o.mrn, o.protocol, o.device);
            if (!checkedIn) {
                return ctx.fail(checkedIn.error());
            }
            ctx.err << "session " << checkedIn->id << ": checked in " << checkedIn->mrn
                    << " for protocol version " << checkedIn->protocolVersion << " of course '"
                    << checkedIn->courseLabel << "'\n";
            return drive(ctx, store, actor, checkedIn->id, o);
        });
    });

    // ---- resume -----------------------------------------------------------------------------
    auto resumeId = std::make_shared<std::int64_t>(0);
    auto resume = std::make_shared<RunOptions>();
    auto* resumeCmd = session->add_subcommand(
        "resume", "Continue an interrupted session from the pulses already delivered");
    resumeCmd->add_option("ID", *resumeId, "Session id")->required();
    addDeviceOptions(resumeCmd, *resume);
    ctx.on(resumeCmd, [&ctx, resumeId, resume] {
        RunOptions o = *resume;
        return withSignedIn(ctx, [&](store::Store& store, const records::Actor& actor) {
            auto s = ses::SessionService(store).get(actor, *resumeId);
            if (!s) {
                return ctx.fail(s.error());
            }
            if (s->status != ses::SessionStatus::Interrupted) {
                return ctx.fail(makeError(ErrorCode::Conflict, "session_id",
                                          "session " + std::to_string(*resumeId) + " is " +
                                              ses::toString(s->status) +
                                              "; only an interrupted session resumes"));
            }
            if (auto screening = needScreening(o); !screening) {
                return ctx.fail(screening.error());
            }
            return drive(ctx, store, actor, *resumeId, o);
        });
    });

    // ---- recover ----------------------------------------------------------------------------
    auto recoverOptions = std::make_shared<RunOptions>();
    auto* recoverCmd = session->add_subcommand(
        "recover", "Find sessions whose program died, read their devices' logs, reconcile");
    recoverCmd->add_option("--connect-timeout-ms", recoverOptions->connectTimeoutMs,
                           "How long to wait for each device (default 5000)");
    recoverCmd->add_flag("--plaintext", recoverOptions->plaintext,
                         "Allow plaintext to a device that is not on this machine");
    ctx.on(recoverCmd, [&ctx, recoverOptions] {
        return withSignedIn(ctx, [&](store::Store& store, const records::Actor& actor) {
            auto list = ses::SessionService(store).unfinished(actor);
            if (!list) {
                return ctx.fail(list.error());
            }
            json report = json::array();
            for (const auto& s : *list) {
                // Reconciled already (not merely "unverified" because the device was away).
                if (s.status == ses::SessionStatus::Interrupted && !s.reconciledUtc.empty() &&
                    s.reconciliation.rfind("unverified", 0) != 0) {
                    report.push_back({{"session", ses::toJson(s)}, {"outcome", "awaiting_close"}});
                    continue;
                }
                ses::RunnerOptions options;
                options.database = store.path();
                options.actor = actor;
                options.sessionId = s.id;
                options.connectWait = std::chrono::milliseconds(recoverOptions->connectTimeoutMs);
                options.allowPlaintext = recoverOptions->plaintext;
                auto runner = ses::SessionRunner::open(options, nullptr);
                if (!runner) {
                    report.push_back({{"session", ses::toJson(s)},
                                      {"outcome", "running_elsewhere"},
                                      {"detail", runner.error().message}});
                    continue;
                }
                auto recovered = (*runner)->recover();
                runner->reset();
                if (!recovered) {
                    return ctx.fail(recovered.error());
                }
                report.push_back({{"session", ses::toJson(*recovered)}, {"outcome", "recovered"}});
            }
            if (ctx.json) {
                ctx.out << report.dump(2) << '\n';
            } else if (report.empty()) {
                ctx.out << "no interrupted sessions\n";
            } else {
                for (const auto& entry : report) {
                    const auto& s = entry["session"];
                    ctx.out << "session " << s["id"].get<std::int64_t>() << " ("
                            << s["mrn"].get<std::string>()
                            << "): " << entry["outcome"].get<std::string>() << "; "
                            << s["status"].get<std::string>() << "; device "
                            << s["reconciliation"]["device_pulses"].dump() << " pulses, journal "
                            << s["reconciliation"]["logged_pulses"].dump() << "; "
                            << (s["reconciliation"]["result"].is_string()
                                    ? s["reconciliation"]["result"].get<std::string>()
                                    : std::string("not reconciled"))
                            << '\n';
                }
                ctx.out << "resume with 'session resume ID' or close with 'session close ID "
                           "--reason TEXT'\n";
            }
            return ctx.ok();
        });
    });

    // ---- close ------------------------------------------------------------------------------
    auto closeId = std::make_shared<std::int64_t>(0);
    auto closeReason = std::make_shared<std::string>();
    auto* closeCmd = session->add_subcommand("close", "Close an interrupted session with a reason");
    closeCmd->add_option("ID", *closeId, "Session id")->required();
    closeCmd->add_option("--reason", *closeReason, "Why it ends here")->required();
    ctx.on(closeCmd, [&ctx, closeId, closeReason] {
        return withSignedIn(ctx, [&](store::Store& store, const records::Actor& actor) {
            auto closed = ses::SessionService(store).close(actor, *closeId, *closeReason);
            if (!closed) {
                return ctx.fail(closed.error());
            }
            ctx.out << (ctx.json ? ses::toJson(*closed).dump(2) : sessionLine(*closed)) << '\n';
            return ctx.ok();
        });
    });

    // ---- adverse-event ----------------------------------------------------------------------
    auto aeId = std::make_shared<std::int64_t>(0);
    auto ae = std::make_shared<ses::AdverseEventInput>();
    auto* aeCmd = session->add_subcommand(
        "adverse-event", "Record an adverse event (a seizure or syncope stops the session)");
    aeCmd->add_option("ID", *aeId, "Session id")->required();
    aeCmd
        ->add_option("--type", ae->type,
                     "headache, scalp_discomfort, syncope, seizure, hoarseness, cough, dyspnea, "
                     "other")
        ->required();
    aeCmd->add_option("--severity", ae->severity, "mild, moderate or severe")->required();
    aeCmd->add_option("--action", ae->actionTaken, "Action taken")->required();
    aeCmd->add_option("--note", ae->note, "Description (required for 'other')");
    ctx.on(aeCmd, [&ctx, aeId, ae] {
        return withSignedIn(ctx, [&](store::Store& store, const records::Actor& actor) {
            auto recorded = ses::SessionService(store).recordAdverseEvent(actor, *aeId, *ae);
            if (!recorded) {
                return ctx.fail(recorded.error());
            }
            if (ctx.json) {
                ctx.out << ses::toJson(*recorded).dump(2) << '\n';
            } else {
                ctx.out << "adverse event " << recorded->id << " recorded on session " << *aeId
                        << (recorded->stoppedSession ? "; the session is being stopped" : "")
                        << (recorded->flaggedReview ? "; the course awaits a physician's review"
                                                    : "")
                        << '\n';
            }
            return ctx.ok();
        });
    });

    // ---- show / list ------------------------------------------------------------------------
    auto showId = std::make_shared<std::int64_t>(0);
    auto* showCmd = session->add_subcommand("show", "A session's record: status, journal, events");
    showCmd->add_option("ID", *showId, "Session id")->required();
    ctx.on(showCmd, [&ctx, showId] {
        return withSignedIn(ctx, [&](store::Store& store, const records::Actor& actor) {
            ses::SessionService service(store);
            auto s = service.get(actor, *showId);
            if (!s) {
                return ctx.fail(s.error());
            }
            auto events = service.events(actor, *showId);
            if (!events) {
                return ctx.fail(events.error());
            }
            auto adverse = service.adverseEvents(actor, *showId);
            if (!adverse) {
                return ctx.fail(adverse.error());
            }
            if (ctx.json) {
                json out = ses::toJson(*s);
                out["events"] = json::array();
                for (const auto& e : *events) {
                    out["events"].push_back(ses::toJson(e));
                }
                out["adverse_events"] = json::array();
                for (const auto& a : *adverse) {
                    out["adverse_events"].push_back(ses::toJson(a));
                }
                ctx.out << out.dump(2) << '\n';
                return ctx.ok();
            }
            ctx.out << sessionLine(*s) << '\n'
                    << "  device " << s->deviceAddress << " " << s->deviceSerial << "  operator "
                    << s->operatorLogin << "\n  reconciliation: "
                    << (s->reconciliation.empty() ? "none" : s->reconciliation) << '\n';
            for (const auto& e : *events) {
                ctx.out << "  " << e.seq << "  " << e.event.wallUtc << "  " << e.event.source
                        << "  " << e.event.kind
                        << (e.event.pulses ? "  pulses " + std::to_string(*e.event.pulses) : "")
                        << (e.event.detail.empty() ? "" : "  " + e.event.detail)
                        << (e.event.recovered ? "  [recovered]" : "") << '\n';
            }
            for (const auto& a : *adverse) {
                ctx.out << "  adverse event: " << a.input.type << " (" << a.input.severity
                        << "): " << a.input.actionTaken << '\n';
            }
            return ctx.ok();
        });
    });

    auto listMrn = std::make_shared<std::string>();
    auto* listCmd = session->add_subcommand("list", "Sessions, newest first");
    listCmd->add_option("--mrn", *listMrn, "Only this patient");
    ctx.on(listCmd, [&ctx, listMrn] {
        return withSignedIn(ctx, [&](store::Store& store, const records::Actor& actor) {
            auto list = ses::SessionService(store).list(actor, *listMrn);
            if (!list) {
                return ctx.fail(list.error());
            }
            json out = json::array();
            for (const auto& s : *list) {
                if (ctx.json) {
                    out.push_back(ses::toJson(s));
                } else {
                    ctx.out << sessionLine(s) << '\n';
                }
            }
            if (ctx.json) {
                ctx.out << out.dump(2) << '\n';
            }
            return ctx.ok();
        });
    });

    // ---- progress / review-clear ------------------------------------------------------------
    auto progressCourse = std::make_shared<std::int64_t>(0);
    auto* progressCmd = session->add_subcommand(
        "progress", "A course's sessions delivered vs planned, pulses, missed, adverse events");
    progressCmd->add_option("--course", *progressCourse, "Course id")->required();
    ctx.on(progressCmd, [&ctx, progressCourse] {
        return withSignedIn(ctx, [&](store::Store& store, const records::Actor& actor) {
            auto p = ses::SessionService(store).progress(actor, *progressCourse);
            if (!p) {
                return ctx.fail(p.error());
            }
            if (ctx.json) {
                ctx.out << ses::toJson(*p).dump(2) << '\n';
                return ctx.ok();
            }
            ctx.out << "course " << p->courseId << " (" << p->label << ", " << p->kind << ") of "
                    << p->mrn << '\n'
                    << "  sessions: " << p->sessionsCompleted << " completed of "
                    << p->sessionsPlanned << " planned; " << p->sessionsStoppedEarly
                    << " stopped early, " << p->sessionsAborted << " aborted, "
                    << p->sessionsInterrupted << " interrupted, " << p->sessionsMissed
                    << " missed\n"
                    << "  cumulative pulses: " << p->cumulativePulses << '\n'
                    << "  adverse events: " << p->adverseEvents << '\n';
            for (const auto& r : p->openReviews) {
                ctx.out << "  REVIEW NEEDED: " << r.reason << " (" << r.flaggedUtc << ")\n";
            }
            return ctx.ok();
        });
    });

    auto clearCourse = std::make_shared<std::int64_t>(0);
    auto clearNote = std::make_shared<std::string>();
    auto* clearCmd = session->add_subcommand(
        "review-clear", "A physician clears a course's review after an adverse event");
    clearCmd->add_option("--course", *clearCourse, "Course id")->required();
    clearCmd->add_option("--note", *clearNote, "What was reviewed and decided")->required();
    ctx.on(clearCmd, [&ctx, clearCourse, clearNote] {
        return withSignedIn(ctx, [&](store::Store& store, const records::Actor& actor) {
            auto cleared = ses::SessionService(store).clearReview(actor, *clearCourse, *clearNote);
            if (!cleared) {
                return ctx.fail(cleared.error());
            }
            ctx.out << "course " << *clearCourse << ": review cleared\n";
            return ctx.ok();
        });
    });
}

}  // namespace neuroplan::cli
