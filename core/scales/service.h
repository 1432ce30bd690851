// neuroplan::scales — administered scales: stored with the instrument version, rater, context
// and raw items; scored on the way in; trends with change from baseline, response and
// remission. Every write is audited; alerts (PHQ-9 item 9) go into the audit entry too.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "records/users.h"
#include "scales/instruments.h"
#include "store/store.h"

namespace neuroplan::scales {

struct AdministrationInput {
    std::string instrument;
    std::vector<std::optional<long long>> items;  ///< empty for a total-only instrument
    std::optional<long long> total;               ///< total-only instruments
    std::string
        context;  ///< screening | baseline | weekly | pre_session | post_session | follow_up
    std::optional<long long> sessionNumber;
    std::string administeredOn;  ///< YYYY-MM-DD
    std::string bandSet;         ///< empty: the instrument's default (a clinic setting)
};

struct Administration {
    std::int64_t id = 0;
    std::string mrn;
    std::string instrument;
    std::string catalogVersion;
    std::string administeredOn;
    std::string rater;
    std::string context;
    std::optional<long long> sessionNumber;
    Score score;
};

struct TrendPoint {
    Administration administration;
    Progress progress;
};

struct Trend {
    std::string instrument;
    std::optional<Administration> baseline;
    std::vector<TrendPoint> points;  ///< complete administrations, oldest first
};

nlohmann::json toJson(const Administration& administration);
nlohmann::json toJson(const Trend& trend);

class ScaleService {
  public:
    explicit ScaleService(store::Store& store,
                          const InstrumentCatalog& catalog = InstrumentCatalog::builtIn())
        : m_store(store), m_catalog(catalog) {}

    /// Scores and stores; a malformed item is an error naming it, and nothing is stored.
    Result<Administration> record(const records::Actor& by, std::string_view mrn,
                                  const AdministrationInput& input);
    /// The patient's complete administrations of the instrument with progress from the
    /// baseline: the first administered in the "baseline" context, else the first complete one,
    /// or the administration `baselineId` when given.
    Result<Trend> trend(const records::Actor& by, std::string_view mrn, std::string_view instrument,
                        std::optional<std::int64_t> baselineId = std::nullopt);
    Result<std::vector<Administration>> list(const records::Actor& by, std::string_view mrn);

    /// The clinic's chosen band set of an instrument (administrators set it); empty: the
    /// instrument's default. Stored as clinic setting "scales.band_set.<instrument>".
    Result<std::string> clinicBandSet(std::string_view instrument);
    Status setClinicBandSet(const records::Actor& by, std::string_view instrument,
                            const std::string& bandSet);

  private:
    store::Store& m_store;
    const InstrumentCatalog& m_catalog;
};

}  // namespace neuroplan::scales
