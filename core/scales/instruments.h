// neuroplan::scales — the catalog of validated symptom scales (data file instruments-v1) and
// scoring: item checks, reverse scoring, totals, bands, alerts, screens, and response and
// remission against a baseline.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/datafile.h"
#include "base/result.h"

namespace neuroplan::scales {

struct Band {
    int max = 0;  ///< the band covers totals up to and including max
    std::string label;
};

struct BandSet {
    std::string id;
    std::string label;
    Provenance from;
    std::vector<Band> bands;
};

struct AlertRule {
    std::string id;  ///< e.g. suicidality_item_positive
    int item = 0;    ///< 1-based
    int above = 0;
    std::string message;
    Provenance from;
};

struct ScreenRule {
    int minTotal = 0;
    std::vector<std::pair<int, int>> conditions;  ///< (1-based item, at least)
    std::string label;
    Provenance from;
};

struct Instrument {
    std::string id;     ///< gad7, hama, ...
    std::string name;   ///< GAD-7, HAM-A, ...
    std::string rater;  ///< self | clinician
    std::string recall;
    std::string licence;
    bool totalOnly = false;  ///< proprietary scales: only a total entered by the user is kept
    int items = 0;
    int itemMin = 0;
    int itemMax = 0;
    int totalMin = 0;
    int totalMax = 0;
    std::vector<std::string> itemLabels;
    std::map<int, std::vector<int>> itemValues;  ///< 1-based item -> allowed values
    std::vector<int> totalItems;                 ///< 1-based items summed (empty: all)
    std::vector<int> reverseItems;               ///< 1-based
    std::vector<BandSet> bandSets;
    std::string defaultBandSet;
    std::optional<Sourced<double>> responseReductionPercent;
    std::optional<Sourced<double>> remissionAtMost;
    std::optional<Sourced<double>> responderAtMost;  ///< CGI-I
    std::vector<AlertRule> alerts;
    std::optional<ScreenRule> screen;
    std::string loincPanel;
    std::string loincTotal;
    Provenance from;

    /// The allowed values of a 1-based item.
    std::vector<int> allowedValues(int item) const;
    /// A band set by id; empty id: the default. Null when the instrument has none.
    const BandSet* bandSet(std::string_view setId) const;
};

class InstrumentCatalog {
  public:
    /// The catalog built into the program (parsed once; aborts on a broken built-in file,
    /// which a unit test guards).
    static const InstrumentCatalog& builtIn();
    static Result<InstrumentCatalog> fromText(std::string_view text, std::string_view origin);

    const Instrument* find(std::string_view id) const;
    const std::vector<Instrument>& all() const { return m_instruments; }
    const std::string& version() const { return m_version; }

  private:
    std::vector<Instrument> m_instruments;
    std::string m_version;
};

struct Alert {
    std::string id;
    std::string message;
    std::string source;
};

struct Score {
    bool complete = false;
    int answered = 0;
    std::vector<std::optional<int>> items;  ///< as entered (empty for total-only)
    std::optional<int> total;               ///< only for a complete form (or an entered total)
    std::optional<std::string> band;        ///< never for an incomplete form
    std::string bandSet;
    std::vector<Alert> alerts;  ///< raised by answered items, complete or not
    std::optional<bool> screenPositive;
};

/// Scores a form. Items may be unanswered (nullopt, or fewer than the instrument has): the form
/// is then incomplete, with no total and no band, but alerts still come from what was answered.
/// Errors (too many items, a value not allowed) name the 1-based-free path `field[i]`.
Result<Score> scoreForm(const Instrument& instrument,
                        const std::vector<std::optional<long long>>& items,
                        std::string_view bandSetId, std::string_view field);
/// Scores an entered total (total-only instruments, or when items are not kept).
Result<Score> scoreTotal(const Instrument& instrument, long long total, std::string_view bandSetId,
                         std::string_view field);

/// Checks every item (count, allowed values) and returns the total with reverse scoring. Errors
/// name `field` and the item (`field[3]`).
Result<int> scoreItems(const Instrument& instrument, const std::vector<long long>& items,
                       std::string_view field);
/// Checks an entered total against the instrument's range.
Status checkTotal(const Instrument& instrument, long long total, std::string_view field);

/// Change against a baseline total: percent reduction (positive = better), response and
/// remission by the instrument's rules; CGI-I judges the rating itself.
struct Progress {
    std::optional<double> reductionPercent;
    std::optional<bool> response;
    std::optional<bool> remission;
};
Progress progress(const Instrument& instrument, std::optional<int> baselineTotal, int total);

std::string describeSource(const Provenance& from);

}  // namespace neuroplan::scales
