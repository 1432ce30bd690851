// neuroplan::scales — the catalog of validated symptom scales (data file instruments-v1) and
// item-level scoring: counts, ranges, reverse-scored items, totals.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/datafile.h"
#include "base/result.h"

namespace neuroplan::scales {

struct Instrument {
    std::string id;    ///< gad7, hama, ...
    std::string name;  ///< GAD-7, HAM-A, ...
    std::string rater; ///< self | clinician
    bool totalOnly = false;  ///< proprietary scales: only a total entered by the user is kept
    int items = 0;
    int itemMin = 0;
    int itemMax = 0;
    int totalMin = 0;
    int totalMax = 0;
    std::vector<int> reverseItems;  ///< 1-based
    Provenance from;
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

/// Checks every item (count, whole numbers in range) and returns the total with reverse
/// scoring applied. Errors name `field` and the 1-based item ("items[3]").
Result<int> scoreItems(const Instrument& instrument, const std::vector<long long>& items,
                       std::string_view field);
/// Checks an entered total against the instrument's range.
Status checkTotal(const Instrument& instrument, long long total, std::string_view field);

}  // namespace neuroplan::scales
