// neuroplan-cli scale list | score | record | trend
#include <CLI/CLI.hpp>
#include <cstdlib>
#include <memory>
#include <nlohmann/json.hpp>

#include "base/json_reader.h"
#include "base/time.h"
#include "context.h"
#include "scales/service.h"

namespace neuroplan::cli {

namespace {

using nlohmann::json;

/// "3,2,,1" -> items (an empty entry or "-" is unanswered); errors name items[i].
Result<std::vector<std::optional<long long>>> parseItems(const std::string& text) {
    std::vector<std::optional<long long>> items;
    if (text.empty()) {
        return items;
    }
    std::size_t start = 0;
    for (std::size_t index = 0;; ++index) {
        const std::size_t comma = text.find(',', start);
        std::string entry =
            text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
        entry.erase(0, entry.find_first_not_of(' '));
        entry.erase(entry.find_last_not_of(' ') + 1);
        if (entry.empty() || entry == "-") {
            items.emplace_back(std::nullopt);
        } else {
            char* end = nullptr;
            const long long value = std::strtoll(entry.c_str(), &end, 10);
            if (end == nullptr || *end != '\0') {
                return makeError(ErrorCode::InvalidInput, indexPath("items", index),
                                 "'" + entry + "' is not a whole number");
            }
            items.emplace_back(value);
        }
        if (comma == std::string::npos) {
            return items;
        }
        start = comma + 1;
    }
}

void printScore(std::ostream& out, const scales::Instrument& instrument, const scales::Score& s) {
    out << instrument.name << ": ";
    if (s.complete && s.total) {
        out << "total " << *s.total;
        if (s.band) {
            out << ", " << *s.band << " (" << s.bandSet << ")";
        }
        if (s.screenPositive) {
            out << ", screen " << (*s.screenPositive ? "POSITIVE" : "negative");
        }
    } else {
        out << "INCOMPLETE (" << s.answered << " of " << instrument.items
            << " items answered): no total, no band";
    }
    out << '\n';
    for (const auto& a : s.alerts) {
        out << "ALERT " << a.id << ": " << a.message << '\n';
    }
}

json scoreJson(const scales::Instrument& instrument, const scales::Score& s) {
    json items = json::array();
    for (const auto& i : s.items) {
        items.push_back(i ? json(*i) : json(nullptr));
    }
    json alerts = json::array();
    for (const auto& a : s.alerts) {
        alerts.push_back({{"id", a.id}, {"message", a.message}, {"source", a.source}});
    }
    return json{{"instrument", instrument.id},
                {"items", items},
                {"complete", s.complete},
                {"answered", s.answered},
                {"total", s.total ? json(*s.total) : json(nullptr)},
                {"band", s.band ? json(*s.band) : json(nullptr)},
                {"band_set", s.bandSet.empty() ? json(nullptr) : json(s.bandSet)},
                {"screen_positive", s.screenPositive ? json(*s.screenPositive) : json(nullptr)},
                {"alerts", alerts}};
}

struct ScoreInput {
    std::string instrument;
    std::string items;
    long long total = -1;
    std::string bandSet;
};

Result<std::pair<const scales::Instrument*, scales::Score>> scoreInput(const ScoreInput& in) {
    const scales::Instrument* instrument = scales::InstrumentCatalog::builtIn().find(in.instrument);
    if (instrument == nullptr) {
        return makeError(ErrorCode::InvalidInput, "instrument",
                         "'" + in.instrument + "' is not an instrument (see scale list)");
    }
    if (in.total >= 0) {
        auto s = scales::scoreTotal(*instrument, in.total, in.bandSet, "total");
        NP_TRY(s);
        return std::make_pair(instrument, *s);
    }
    auto items = parseItems(in.items);
    NP_TRY(items);
    auto s = scales::scoreForm(*instrument, *items, in.bandSet, "items");
    NP_TRY(s);
    return std::make_pair(instrument, *s);
}

}  // namespace

void registerScaleCommands(CLI::App& app, Context& ctx) {
    auto* group = app.add_subcommand("scale", "Symptom scales: score, record and follow them");
    group->require_subcommand(1);

    ctx.on(group->add_subcommand("list", "The instruments, their items, bands and rules"), [&ctx] {
        const auto& catalog = scales::InstrumentCatalog::builtIn();
        json list = json::array();
        for (const auto& i : catalog.all()) {
            json bandSets = json::array();
            for (const auto& set : i.bandSets) {
                json bands = json::array();
                for (const auto& b : set.bands) {
                    bands.push_back({{"max", b.max}, {"label", b.label}});
                }
                bandSets.push_back({{"id", set.id}, {"label", set.label}, {"bands", bands}});
            }
            list.push_back({{"id", i.id},
                            {"name", i.name},
                            {"rater", i.rater},
                            {"recall", i.recall},
                            {"items", i.items},
                            {"item_labels", i.itemLabels},
                            {"total_only", i.totalOnly},
                            {"total_range", {i.totalMin, i.totalMax}},
                            {"band_sets", bandSets},
                            {"default_band_set", i.defaultBandSet},
                            {"loinc_total", i.loincTotal},
                            {"licence", i.licence},
                            {"source", scales::describeSource(i.from)}});
            if (!ctx.json) {
                ctx.out << i.id << "  " << i.name << "  (" << i.rater << ", "
                        << (i.totalOnly ? "total only" : std::to_string(i.items) + " items") << ", "
                        << i.totalMin << "-" << i.totalMax << ", recall " << i.recall
                        << (i.loincTotal.empty() ? "" : ", LOINC " + i.loincTotal) << ")\n";
            }
        }
        if (ctx.json) {
            ctx.out << json{{"catalog", catalog.version()}, {"instruments", list}}.dump(2) << '\n';
        }
        return ctx.ok();
    });

    auto score = std::make_shared<ScoreInput>();
    auto* scoreCmd = group->add_subcommand("score", "Score a form without storing it");
    scoreCmd->add_option("--instrument", score->instrument, "gad7, hama, phq9, ...")->required();
    scoreCmd->add_option("--items", score->items,
                         "Item scores in order, comma-separated; an empty entry is unanswered");
    scoreCmd->add_option("--total", score->total, "The total, for total-only instruments");
    scoreCmd->add_option("--band-set", score->bandSet,
                         "A labelled band set (default: the clinic's)");
    ctx.on(scoreCmd, [&ctx, score] {
        auto result = scoreInput(*score);
        if (!result) {
            return ctx.fail(result.error());
        }
        if (ctx.json) {
            ctx.out << scoreJson(*result->first, result->second).dump(2) << '\n';
        } else {
            printScore(ctx.out, *result->first, result->second);
        }
        return ctx.ok();
    });

    struct Record {
        std::string mrn;
        ScoreInput score;
        std::string context;
        long long session = 0;
        std::string date;
    };
    auto record = std::make_shared<Record>();
    auto* recordCmd = group->add_subcommand("record", "Score and store an administration");
    recordCmd->add_option("--mrn", record->mrn, "The patient's MRN")->required();
    recordCmd->add_option("--instrument", record->score.instrument, "gad7, hama, ...")->required();
    recordCmd->add_option("--items", record->score.items, "Item scores in order, comma-separated");
    recordCmd->add_option("--total", record->score.total, "The total, for total-only instruments");
    recordCmd->add_option("--band-set", record->score.bandSet, "A labelled band set");
    recordCmd
        ->add_option("--context", record->context,
                     "screening | baseline | weekly | pre_session | post_session | follow_up")
        ->required();
    recordCmd->add_option("--session", record->session, "Session number (pre/post session)");
    recordCmd->add_option("--date", record->date, "Administered on, YYYY-MM-DD (default today)");
    ctx.on(recordCmd, [&ctx, record] {
        scales::AdministrationInput input;
        input.instrument = record->score.instrument;
        input.context = record->context;
        input.bandSet = record->score.bandSet;
        if (record->session != 0) {
            input.sessionNumber = record->session;
        }
        input.administeredOn =
            record->date.empty() ? formatIsoDate(utcDate(systemClock()())) : record->date;
        if (record->score.total >= 0) {
            input.total = record->score.total;
        } else {
            auto items = parseItems(record->score.items);
            if (!items) {
                return ctx.fail(items.error());
            }
            input.items = *items;
        }
        return withSignedIn(ctx, [&](store::Store& store, const records::Actor& actor) {
            auto stored = scales::ScaleService(store).record(actor, record->mrn, input);
            if (!stored) {
                return ctx.fail(stored.error());
            }
            for (const auto& a : stored->score.alerts) {
                ctx.err << "neuroplan-cli: ALERT " << a.id << ": " << a.message << '\n';
            }
            if (ctx.json) {
                ctx.out << scales::toJson(*stored).dump(2) << '\n';
            } else {
                ctx.out << "recorded administration " << stored->id << ": ";
                printScore(ctx.out, *scales::InstrumentCatalog::builtIn().find(stored->instrument),
                           stored->score);
            }
            return ctx.ok();
        });
    });

    struct BandSetting {
        std::string instrument;
        std::string bandSet;
    };
    auto setting = std::make_shared<BandSetting>();
    auto* bandCmd = group->add_subcommand(
        "band-set",
        "Choose the clinic's band set for an instrument (administrators), e.g. HAM-A "
        "matza2010 or older");
    bandCmd->add_option("--instrument", setting->instrument, "hama, ...")->required();
    bandCmd->add_option("--band-set", setting->bandSet, "A band set id (see scale list --json)")
        ->required();
    ctx.on(bandCmd, [&ctx, setting] {
        return withSignedIn(ctx, [&](store::Store& store, const records::Actor& actor) {
            scales::ScaleService service(store);
            const Status done =
                service.setClinicBandSet(actor, setting->instrument, setting->bandSet);
            if (!done) {
                return ctx.fail(done.error());
            }
            ctx.out << "the clinic now bands " << setting->instrument << " with "
                    << setting->bandSet << '\n';
            return ctx.ok();
        });
    });

    struct Trend {
        std::string mrn;
        std::string instrument;
        std::int64_t baseline = 0;
    };
    auto trend = std::make_shared<Trend>();
    auto* trendCmd = group->add_subcommand(
        "trend", "A patient's scores over time with change from baseline, response and remission");
    trendCmd->add_option("--mrn", trend->mrn, "The patient's MRN")->required();
    trendCmd->add_option("--instrument", trend->instrument, "gad7, hama, ...")->required();
    trendCmd->add_option("--baseline", trend->baseline, "Administration id to use as baseline");
    ctx.on(trendCmd, [&ctx, trend] {
        return withSignedIn(ctx, [&](store::Store& store, const records::Actor& actor) {
            auto series = scales::ScaleService(store).trend(
                actor, trend->mrn, trend->instrument,
                trend->baseline ? std::optional<std::int64_t>(trend->baseline) : std::nullopt);
            if (!series) {
                return ctx.fail(series.error());
            }
            if (ctx.json) {
                ctx.out << scales::toJson(*series).dump(2) << '\n';
                return ctx.ok();
            }
            if (series->baseline) {
                ctx.out << "baseline: " << series->baseline->administeredOn << " total "
                        << *series->baseline->score.total << " (administration "
                        << series->baseline->id << ")\n";
            }
            for (const auto& p : series->points) {
                const auto& a = p.administration;
                ctx.out << a.administeredOn << "  " << a.context
                        << (a.sessionNumber ? " " + std::to_string(*a.sessionNumber) : "")
                        << "  total " << *a.score.total << "  " << a.score.band.value_or("");
                if (p.progress.reductionPercent && series->baseline &&
                    a.id != series->baseline->id) {
                    char change[32];
                    std::snprintf(change, sizeof change, "%+.0f %% from baseline",
                                  -*p.progress.reductionPercent);
                    ctx.out << "  " << change;
                }
                if (p.progress.response.value_or(false)) {
                    ctx.out << "  RESPONSE";
                }
                if (p.progress.remission.value_or(false)) {
                    ctx.out << "  REMISSION";
                }
                ctx.out << '\n';
            }
            return ctx.ok();
        });
    });
}

}  // namespace neuroplan::cli
