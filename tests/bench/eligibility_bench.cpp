// eligibility_bench — how fast NeuroPlan parses and evaluates eligibility cases (issue 3: 100,000
// cases in one process in under 5 s). A program that prints figures, not a test.
//
// Generates N varied cases deterministically (fixed seed), serialises them to JSON text once,
// then measures, 5 times each:
//   (a) floor:          simdjson parsing the texts alone (what parseCaseText starts with)
//   (a') reference:     nlohmann::json::parse of the texts alone (the reader before simdjson)
//   (b) parse+evaluate: eligibility::parseCaseText + eligibility::evaluate
//   (c) evaluate:       eligibility::evaluate on cases parsed beforehand
// and prints total seconds, cases/s (median of the runs), per-case median and p99 latency (from
// batches of 1000 cases timed with std::chrono::steady_clock and divided by the batch size), the
// ratio of (b) to the floor, and the outcome counts, so it is clear every branch ran.
//
// Usage: eligibility_bench [--cases N] [--seed S]      (docs/performance.md)
#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "base/json_fast.h"
#include "eligibility/case.h"
#include "eligibility/evaluate.h"
#include "eligibility/ruleset.h"

namespace {

using nlohmann::json;
namespace el = neuroplan::eligibility;
using Clock = std::chrono::steady_clock;

constexpr int kRuns = 5;
constexpr std::size_t kBatch = 1000;

/// A small deterministic generator (splitmix64): the same seed gives the same cases on every
/// platform, unlike the std distributions.
class Rng {
  public:
    explicit Rng(std::uint64_t seed) : m_state(seed) {}
    std::uint64_t next() {
        std::uint64_t z = (m_state += 0x9E3779B97F4A7C15ULL);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
        return z ^ (z >> 31);
    }
    /// 0 .. n-1
    int below(int n) { return static_cast<int>(next() % static_cast<std::uint64_t>(n)); }
    /// lo .. hi inclusive
    int between(int lo, int hi) { return lo + below(hi - lo + 1); }
    bool chance(double p) { return static_cast<double>(next() >> 11) * 0x1.0p-53 < p; }
    template <class T, std::size_t N>
    const T& pick(const std::array<T, N>& options) {
        return options[static_cast<std::size_t>(below(static_cast<int>(N)))];
    }

  private:
    std::uint64_t m_state;
};

struct DrugRow {
    const char* agent;
    double minMg;
    bool firstLine;
};
// The catalog of refractory-anxiety-v1, plus agents it does not know (unassessable trials).
constexpr std::array<DrugRow, 15> kDrugs{{{"escitalopram", 10, true},
                                          {"citalopram", 20, true},
                                          {"sertraline", 50, true},
                                          {"paroxetine", 20, true},
                                          {"fluoxetine", 20, true},
                                          {"fluvoxamine", 100, true},
                                          {"venlafaxine", 75, true},
                                          {"duloxetine", 60, true},
                                          {"desvenlafaxine", 50, true},
                                          {"pregabalin", 150, false},
                                          {"quetiapine", 50, false},
                                          {"aripiprazole", 2, false},
                                          {"buspirone", 15, false},
                                          {"mirtazapine", 15, false},
                                          {"hydroxyzine", 25, false}}};
constexpr std::array<const char*, 4> kDiagnoses{"generalized_anxiety_disorder", "panic_disorder",
                                                "social_anxiety_disorder",
                                                "other_anxiety_disorder"};
constexpr std::array<const char*, 4> kSexes{"female", "male", "other", "unknown"};
constexpr std::array<const char*, 3> kAdherence{"good", "partial", "poor"};
constexpr std::array<const char*, 6> kStopReasons{"ongoing",      "completed",      "ineffective",
                                                  "side_effects", "patient_choice", "other"};
constexpr std::array<const char*, 4> kOutcomes{"no_response", "partial_response", "response",
                                               "remission"};
constexpr std::array<const char*, 4> kComorbidityStates{"absent", "suspected", "present",
                                                        "not_assessed"};
constexpr std::array<const char*, 3> kWorkupStates{"normal", "abnormal", "not_done"};
constexpr std::array<const char*, 5> kPhenotypes{"poor", "intermediate", "normal", "rapid",
                                                 "ultrarapid"};
constexpr std::array<const char*, 4> kExposure{"good", "partial", "poor", "not_applicable"};

std::string isoDate(std::chrono::sys_days day) {
    return neuroplan::formatIsoDate(std::chrono::year_month_day{day});
}

/// One case. `noise` is the chance that each part departs from a clean, refractory, fully
/// screened case; a mix of noise levels makes every status and decision occur.
json makeCase(Rng& rng, int serial) {
    using namespace std::chrono;
    const double noise = std::array<double, 4>{0.02, 0.08, 0.25, 0.6}[rng.below(4)];
    const auto off = [&] { return rng.chance(noise); };
    const sys_days evaluation = sys_days{2026y / January / 1} + days{rng.below(365)};

    json c;
    c["evaluation_date"] = isoDate(evaluation);
    json patient{{"id", "BENCH-" + std::to_string(serial)}, {"sex", rng.pick(kSexes)}};
    if (!rng.chance(noise / 4)) {
        // mostly adults; the noisier cases reach minors (age.minimum)
        const int years = off() ? rng.between(12, 19) : rng.between(18, 85);
        patient["birth_date"] = isoDate(evaluation - days{years * 365 + rng.below(365)});
    }
    c["patient"] = patient;
    if (!rng.chance(noise / 4)) {
        c["diagnosis"] = rng.pick(kDiagnoses);
    }

    json trials = json::array();
    const auto medication = [&](bool augmentation, bool firstLine) {
        const DrugRow* drug = nullptr;
        do {
            drug = &kDrugs[static_cast<std::size_t>(rng.below(static_cast<int>(kDrugs.size())))];
        } while (!off() && drug->firstLine != firstLine);
        json t{{"type", "medication"}, {"agent", drug->agent}};
        if (!rng.chance(noise / 2)) {
            t["role"] = augmentation ? "augmentation" : "monotherapy";
        }
        if (!rng.chance(noise / 4)) {
            const std::array<double, 6> factors{0.5, 0.99, 1.0, 1.5, 2.0, 3.0};
            const double factor = off() ? factors[static_cast<std::size_t>(rng.below(2))]
                                        : factors[static_cast<std::size_t>(rng.between(2, 5))];
            t["daily_dose_mg"] = drug->minMg * factor;
        }
        if (!rng.chance(noise / 4)) {
            t["weeks_at_dose"] = off() ? rng.between(1, 7) : rng.between(8, 16);
        }
        t["adherence"] = off() ? rng.pick(kAdherence) : "good";
        t["stop_reason"] = off() ? rng.pick(kStopReasons) : "ineffective";
        if (!rng.chance(noise / 4)) {
            t["outcome"] = off() ? rng.pick(kOutcomes)
                                 : (rng.chance(0.5) ? "no_response" : "partial_response");
        }
        trials.push_back(std::move(t));
    };
    const auto psychotherapy = [&](const char* modality) {
        json t{{"type", "psychotherapy"}};
        if (!rng.chance(noise / 4)) {
            t["modality"] = off() ? std::array<const char*, 4>{"cbt", "dbt", "trauma_focused",
                                                               "other"}[rng.below(4)]
                                  : modality;
        }
        if (!rng.chance(noise / 4)) {
            t["sessions"] = off() ? rng.between(4, 11) : rng.between(12, 24);
        }
        t["exposure_adherence"] = off() ? rng.pick(kExposure) : "good";
        if (!rng.chance(noise / 4)) {
            t["outcome"] = off() ? rng.pick(kOutcomes) : "partial_response";
        }
        trials.push_back(std::move(t));
    };
    const auto neuromodulation = [&] {
        json t{{"type", "neuromodulation"}, {"modality", off() ? "vns" : "rtms"}};
        t["sessions"] = rng.between(10, 36);
        if (!rng.chance(noise / 4)) {
            t["outcome"] = off() ? rng.pick(kOutcomes) : "no_response";
        }
        trials.push_back(std::move(t));
    };
    // The clean ladder: two first-line trials, CBT, then (sometimes) augmentation, DBT / trauma-
    // focused therapy or an rTMS course; each step may be skipped or spoilt by the noise.
    const int firstLine = off() ? rng.between(0, 3) : 2;
    for (int i = 0; i < firstLine; ++i) {
        medication(false, true);
    }
    if (!off()) {
        psychotherapy("cbt");
    }
    if (rng.chance(0.6)) {
        medication(true, false);
        if (rng.chance(0.5)) {
            psychotherapy(rng.chance(0.5) ? "dbt" : "trauma_focused");
        }
        if (rng.chance(0.5)) {
            neuromodulation();
        }
    }
    // deterministic shuffle so the order of trials varies too
    for (std::size_t i = trials.size(); i > 1; --i) {
        std::swap(trials[i - 1], trials[static_cast<std::size_t>(rng.below(static_cast<int>(i)))]);
    }
    c["trials"] = std::move(trials);

    json scales = json::array();
    const int scaleCount = off() ? rng.between(0, 3) : rng.between(1, 3);
    for (int i = 0; i < scaleCount; ++i) {
        // ages 0..120 days: some outside the 90-day window
        const int age = off() ? rng.between(0, 120) : rng.between(0, 60);
        json s{{"date", isoDate(evaluation - days{age})}};
        switch (off() ? rng.below(4) : rng.below(2)) {
            case 0: {  // GAD-7: items or total across 0..21 (boundaries 9/10 and 14/15)
                s["instrument"] = "gad7";
                if (rng.chance(0.5)) {
                    json items = json::array();
                    for (int k = 0; k < 7; ++k) {
                        items.push_back(off() ? rng.between(0, 3) : rng.between(1, 3));
                    }
                    s["items"] = std::move(items);
                } else {
                    s["total"] = off() ? rng.between(0, 21) : rng.between(10, 21);
                }
                break;
            }
            case 1: {  // HAM-A: 14 items 0..4 or a total 0..56
                s["instrument"] = "hama";
                if (rng.chance(0.5)) {
                    json items = json::array();
                    for (int k = 0; k < 14; ++k) {
                        items.push_back(off() ? rng.between(0, 4) : rng.between(1, 4));
                    }
                    s["items"] = std::move(items);
                } else {
                    s["total"] = off() ? rng.between(0, 56) : rng.between(18, 56);
                }
                break;
            }
            case 2: {  // PSWQ: 16 items 1..5 with reverse scoring (not read for severity)
                s["instrument"] = "pswq";
                json items = json::array();
                for (int k = 0; k < 16; ++k) {
                    items.push_back(rng.between(1, 5));
                }
                s["items"] = std::move(items);
                break;
            }
            default:
                s["instrument"] = "bai";
                s["total"] = rng.between(0, 63);
                break;
        }
        scales.push_back(std::move(s));
    }
    c["scales"] = std::move(scales);

    json comorbidities = json::object();
    for (const char* item : {"bipolar_disorder", "substance_use_disorder", "chronic_pain"}) {
        if (!rng.chance(noise / 2)) {
            comorbidities[item] = off() ? rng.pick(kComorbidityStates) : "absent";
        }
    }
    c["comorbidities"] = std::move(comorbidities);
    json workup = json::object();
    for (const char* item : {"thyroid", "cardiac_rhythm"}) {
        if (!rng.chance(noise / 2)) {
            workup[item] = off() ? rng.pick(kWorkupStates) : "normal";
        }
    }
    c["medical_workup"] = std::move(workup);
    json pgx = json::object();
    for (const char* gene : {"CYP2D6", "CYP2C19", "CYP2B6"}) {
        if (rng.chance(0.5)) {
            pgx[gene] = off() ? rng.pick(kPhenotypes) : "normal";
        }
    }
    c["pharmacogenomics"] = std::move(pgx);

    json rtms = json::object();
    for (std::string_view item : el::kRtmsScreeningItems) {
        if (!rng.chance(noise / 2)) {
            rtms[std::string(item)] = off() && rng.chance(0.3);
        }
    }
    c["rtms_screening"] = std::move(rtms);
    json vns = json::object();
    for (std::string_view item : el::kVnsScreeningItems) {
        if (!rng.chance(noise / 2)) {
            const bool spoilt = off() && rng.chance(0.3);
            vns[std::string(item)] = item == "surgical_clearance" ? !spoilt : spoilt;
        }
    }
    c["vns_screening"] = std::move(vns);
    return c;
}

struct Measurement {
    std::vector<double> runSeconds;     ///< one total per run
    std::vector<double> perCaseMicros;  ///< one per batch: batch time / batch size
};

/// Times `work(i)` for every case, kRuns times, in batches of kBatch.
Measurement measure(std::size_t count, const std::function<void(std::size_t)>& work) {
    Measurement m;
    for (int run = 0; run < kRuns; ++run) {
        double total = 0;
        for (std::size_t begin = 0; begin < count; begin += kBatch) {
            const std::size_t end = std::min(count, begin + kBatch);
            const auto start = Clock::now();
            for (std::size_t i = begin; i < end; ++i) {
                work(i);
            }
            const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
            total += seconds;
            m.perCaseMicros.push_back(seconds * 1e6 / static_cast<double>(end - begin));
        }
        m.runSeconds.push_back(total);
    }
    return m;
}

double percentile(std::vector<double> values, double p) {
    std::sort(values.begin(), values.end());
    const auto rank = static_cast<std::size_t>(p * static_cast<double>(values.size() - 1) + 0.5);
    return values[std::min(rank, values.size() - 1)];
}

void report(const char* name, const Measurement& m, std::size_t count) {
    const double medianSeconds = percentile(m.runSeconds, 0.5);
    std::printf("%-26s total s per run:", name);
    for (double s : m.runSeconds) {
        std::printf(" %.3f", s);
    }
    std::printf("\n%-26s median %.3f s, %.0f cases/s, per case median %.2f us, p99 %.2f us\n", "",
                medianSeconds, static_cast<double>(count) / medianSeconds,
                percentile(m.perCaseMicros, 0.5), percentile(m.perCaseMicros, 0.99));
}

[[noreturn]] void usage(const char* why) {
    std::fprintf(stderr, "eligibility_bench: %s\nusage: eligibility_bench [--cases N] [--seed S]\n",
                 why);
    std::exit(2);
}

}  // namespace

int main(int argc, char** argv) {
    std::size_t count = 100000;
    std::uint64_t seed = 20261102;
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        if ((arg == "--cases" || arg == "--seed") && i + 1 < argc) {
            char* end = nullptr;
            const unsigned long long value = std::strtoull(argv[++i], &end, 10);
            if (end == argv[i] || *end != '\0' || (arg == "--cases" && value == 0)) {
                usage("expected a positive whole number");
            }
            (arg == "--cases" ? count : seed) = value;
        } else {
            usage("unknown argument");
        }
    }

    const el::RuleSet& rules = el::RuleSet::builtIn();
    std::vector<std::string> texts;
    texts.reserve(count);
    Rng rng(seed);
    std::size_t bytes = 0;
    for (std::size_t i = 0; i < count; ++i) {
        texts.push_back(makeCase(rng, static_cast<int>(i)).dump());
        bytes += texts.back().size();
    }
    std::vector<el::Case> cases;
    cases.reserve(count);
    for (std::size_t i = 0; i < count; ++i) {
        auto parsed = el::parseCaseText(texts[i], "case");
        if (!parsed) {
            std::fprintf(stderr, "eligibility_bench: generated case %zu is malformed: %s\n", i,
                         parsed.error().describe().c_str());
            return 1;
        }
        cases.push_back(std::move(parsed).value());
    }
    std::printf(
        "eligibility_bench: %zu cases (seed %llu), %.1f MB of JSON, %.0f bytes/case, "
        "rule set %s, %d runs, batches of %zu\n\n",
        count, static_cast<unsigned long long>(seed), static_cast<double>(bytes) / 1e6,
        static_cast<double>(bytes) / static_cast<double>(count), rules.label().c_str(), kRuns,
        kBatch);

    // (a) the floor: JSON syntax alone, with the library parseCaseText uses
    std::size_t sink = 0;
    neuroplan::FastJsonParser fast;
    const Measurement floor =
        measure(count, [&](std::size_t i) { sink += fast.parse(texts[i]).has_value() ? 1 : 0; });
    // (a') for reference: nlohmann building its document, as the reader did before simdjson
    const Measurement nlohmannParse = measure(count, [&](std::size_t i) {
        const json document = json::parse(texts[i]);
        sink += document.size();
    });

    // (b) what the CLI does per case: parse the case file text, then evaluate
    std::map<std::string, long long> counts;
    bool counting = true;
    const auto tally = [&](const el::Evaluation& e) {
        ++counts[std::string("status ") + el::toString(e.status)];
        ++counts[std::string("rtms ") + el::toString(e.rtms.decision)];
        ++counts[std::string("vns ") + el::toString(e.vns.decision)];
        for (const auto& t : e.trials) {
            for (const auto& r : t.reasons) {
                ++counts["reason " + r];
            }
        }
        for (const auto* d : {&e.rtms, &e.vns}) {
            for (const auto& f : d->findings) {
                ++counts["finding " + f.rule + " " + el::toString(f.effect)];
            }
        }
    };
    const Measurement full = measure(count, [&](std::size_t i) {
        auto parsed = el::parseCaseText(texts[i], "case");
        const el::Evaluation e = el::evaluate(*parsed, rules);
        sink += e.rtms.findings.size() + e.vns.findings.size();
        if (counting) {
            tally(e);
        }
        if (counting && i + 1 == count) {
            counting = false;  // count the first run only
        }
    });

    // (c) the rules alone, on cases parsed beforehand
    const Measurement evalOnly = measure(count, [&](std::size_t i) {
        const el::Evaluation e = el::evaluate(cases[i], rules);
        sink += e.trials.size() + e.rtms.findings.size();
    });

    report("(a) simdjson parse (floor)", floor, count);
    report("(a') nlohmann json::parse", nlohmannParse, count);
    report("(b) parseCaseText+evaluate", full, count);
    report("(c) evaluate only", evalOnly, count);
    const double ratio = percentile(full.runSeconds, 0.5) / percentile(floor.runSeconds, 0.5);
    std::printf(
        "\nratio (b) / (a): %.2f    target: %zu cases parsed and evaluated in %.3f s "
        "(median), issue 3 asks < 5 s for 100,000\n",
        ratio, count, percentile(full.runSeconds, 0.5));

    std::printf("\noutcome counts (one run of (b)):\n");
    for (const auto& [key, n] : counts) {
        std::printf("  %-60s %lld\n", key.c_str(), n);
    }
    std::printf("(checksum %zu)\n", sink);
    return 0;
}
