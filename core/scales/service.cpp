#include "scales/service.h"

#include <algorithm>
#include <array>

#include "base/time.h"
#include "records/patients.h"

namespace neuroplan::scales {

using nlohmann::json;

namespace {

constexpr std::array<std::string_view, 6> kContexts{"screening",   "baseline",     "weekly",
                                                    "pre_session", "post_session", "follow_up"};

json itemsJson(const std::vector<std::optional<int>>& items) {
    json array = json::array();
    for (const auto& item : items) {
        array.push_back(item ? json(*item) : json(nullptr));
    }
    return array;
}

json alertsJson(const std::vector<Alert>& alerts) {
    json array = json::array();
    for (const Alert& a : alerts) {
        array.push_back({{"id", a.id}, {"message", a.message}, {"source", a.source}});
    }
    return array;
}

}  // namespace

json toJson(const Administration& a) {
    return json{
        {"id", a.id},
        {"mrn", a.mrn},
        {"instrument", a.instrument},
        {"catalog_version", a.catalogVersion},
        {"administered_on", a.administeredOn},
        {"rater", a.rater},
        {"context", a.context},
        {"session", a.sessionNumber ? json(*a.sessionNumber) : json(nullptr)},
        {"items", itemsJson(a.score.items)},
        {"complete", a.score.complete},
        {"total", a.score.total ? json(*a.score.total) : json(nullptr)},
        {"band", a.score.band ? json(*a.score.band) : json(nullptr)},
        {"band_set", a.score.bandSet.empty() ? json(nullptr) : json(a.score.bandSet)},
        {"screen_positive", a.score.screenPositive ? json(*a.score.screenPositive) : json(nullptr)},
        {"alerts", alertsJson(a.score.alerts)}};
}

json toJson(const Trend& t) {
    json points = json::array();
    for (const TrendPoint& p : t.points) {
        json point = toJson(p.administration);
        point["reduction_percent"] =
            p.progress.reductionPercent ? json(*p.progress.reductionPercent) : json(nullptr);
        point["response"] = p.progress.response ? json(*p.progress.response) : json(nullptr);
        point["remission"] = p.progress.remission ? json(*p.progress.remission) : json(nullptr);
        points.push_back(point);
    }
    return json{{"instrument", t.instrument},
                {"baseline", t.baseline ? toJson(*t.baseline) : json(nullptr)},
                {"points", points}};
}

Result<Administration> ScaleService::record(const records::Actor& by, std::string_view mrn,
                                            const AdministrationInput& input) {
    NP_TRY(records::require(by, records::Permission::EditPatients));
    const Instrument* instrument = m_catalog.find(input.instrument);
    if (instrument == nullptr) {
        std::string known;
        for (const auto& i : m_catalog.all()) {
            known += (known.empty() ? "" : ", ") + i.id;
        }
        return makeError(ErrorCode::InvalidInput, "instrument",
                         "'" + input.instrument + "' is not one of " + known);
    }
    if (std::find(kContexts.begin(), kContexts.end(), input.context) == kContexts.end()) {
        return makeError(ErrorCode::InvalidInput, "context",
                         "expected screening, baseline, weekly, pre_session, post_session or "
                         "follow_up, got '" +
                             input.context + "'");
    }
    const bool sessionContext = input.context == "pre_session" || input.context == "post_session";
    if (sessionContext && !input.sessionNumber) {
        return makeError(ErrorCode::InvalidInput, "session",
                         "required for pre_session and post_session");
    }
    if (input.sessionNumber && *input.sessionNumber < 1) {
        return makeError(ErrorCode::InvalidInput, "session", "must be 1 or more");
    }
    auto day = parseIsoDate(input.administeredOn, "date");
    NP_TRY(day);
    if (*day > utcDate(m_store.clock()())) {
        return makeError(ErrorCode::InvalidInput, "date", "is in the future");
    }
    Result<Score> scored = makeError(ErrorCode::Internal, "", "not scored");
    if (instrument->totalOnly) {
        if (!input.total || !input.items.empty()) {
            return makeError(
                ErrorCode::InvalidInput, "total",
                instrument->name + " is recorded as a total only (" + instrument->licence + ")");
        }
        scored = scoreTotal(*instrument, *input.total, input.bandSet, "total");
    } else {
        if (input.total) {
            return makeError(ErrorCode::InvalidInput, "total",
                             instrument->name + " is recorded item by item");
        }
        scored = scoreForm(*instrument, input.items, input.bandSet, "items");
    }
    NP_TRY(scored);
    if (input.bandSet.empty() && scored->total && !instrument->bandSets.empty()) {
        // No band set asked for: use the clinic's choice for this instrument.
        auto chosen = clinicBandSet(instrument->id);
        NP_TRY(chosen);
        if (!chosen->empty()) {
            scored = instrument->totalOnly
                         ? scoreTotal(*instrument, *scored->total, *chosen, "total")
                         : scoreForm(*instrument, input.items, *chosen, "items");
            NP_TRY(scored);
        }
    }
    auto patient = records::PatientService(m_store).findByMrn(by, mrn);
    NP_TRY(patient);

    Administration a{0,
                     patient->mrn,
                     instrument->id,
                     m_catalog.version(),
                     formatIsoDate(*day),
                     by.login,
                     input.context,
                     input.sessionNumber,
                     *scored};
    NP_TRY(m_store.write(by.auditIdentity(), [&](store::WriteContext& w) -> Status {
        auto insert = w.db().prepare(
            "INSERT INTO scale_administrations (patient_id, instrument, catalog_version, "
            "administered_on, rater_id, context, session_number, items_json, complete, total, "
            "band, band_set, alerts_json, recorded_utc) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
        NP_TRY(insert);
        insert->bindAll(patient->id, a.instrument, a.catalogVersion, a.administeredOn, by.userId,
                        a.context, a.sessionNumber, itemsJson(a.score.items).dump(),
                        a.score.complete ? 1 : 0, a.score.total, a.score.band,
                        a.score.bandSet.empty() ? std::optional<std::string>() : a.score.bandSet,
                        alertsJson(a.score.alerts).dump(), formatUtc(m_store.clock()()));
        NP_TRY(insert->run());
        a.id = w.db().lastInsertRowId();
        return w.audit("scale_administration", std::to_string(a.id), "record", nullptr, toJson(a));
    }));
    return a;
}

Result<std::string> ScaleService::clinicBandSet(std::string_view instrument) {
    auto row = m_store.db().prepare("SELECT value FROM clinic_settings WHERE key = ?");
    NP_TRY(row);
    row->bindAll("scales.band_set." + std::string(instrument));
    auto found = row->step();
    NP_TRY(found);
    return *found ? row->columnText(0) : std::string();
}

Status ScaleService::setClinicBandSet(const records::Actor& by, std::string_view instrumentId,
                                      const std::string& bandSet) {
    NP_TRY(records::require(by, records::Permission::ManageUsers));  // clinic administration
    const Instrument* instrument = m_catalog.find(instrumentId);
    if (instrument == nullptr) {
        return makeError(ErrorCode::InvalidInput, "instrument",
                         "'" + std::string(instrumentId) + "' is not an instrument");
    }
    if (instrument->bandSet(bandSet) == nullptr) {
        std::string known;
        for (const auto& set : instrument->bandSets) {
            known += (known.empty() ? "" : ", ") + set.id;
        }
        return makeError(ErrorCode::InvalidInput, "band_set",
                         instrument->name + " has no band set '" + bandSet + "' (" +
                             (known.empty() ? "none" : known) + ")");
    }
    auto before = clinicBandSet(instrument->id);
    NP_TRY(before);
    const std::string key = "scales.band_set." + instrument->id;
    return m_store.write(by.auditIdentity(), [&](store::WriteContext& w) -> Status {
        auto upsert = w.db().prepare(
            "INSERT INTO clinic_settings (key, value, updated_utc, updated_by) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value, "
            "updated_utc = excluded.updated_utc, updated_by = excluded.updated_by");
        NP_TRY(upsert);
        upsert->bindAll(key, bandSet, formatUtc(m_store.clock()()), by.userId);
        NP_TRY(upsert->run());
        return w.audit("clinic_setting", key, "set",
                       before->empty() ? json(nullptr) : json(*before), json(bandSet));
    });
}

Result<std::vector<Administration>> ScaleService::list(const records::Actor& by,
                                                       std::string_view mrn) {
    auto patient = records::PatientService(m_store).findByMrn(by, mrn);
    NP_TRY(patient);
    auto rows = m_store.db().prepare(
        "SELECT a.id, a.instrument, a.catalog_version, a.administered_on, u.login, a.context, "
        "a.session_number, a.items_json, a.complete, a.total, a.band, a.band_set, a.alerts_json "
        "FROM scale_administrations a JOIN users u ON u.id = a.rater_id WHERE a.patient_id = ? "
        "ORDER BY a.administered_on, a.id");
    NP_TRY(rows);
    rows->bindAll(patient->id);
    std::vector<Administration> list;
    for (;;) {
        auto more = rows->step();
        NP_TRY(more);
        if (!*more) {
            return list;
        }
        Administration a;
        a.id = rows->columnInt(0);
        a.mrn = patient->mrn;
        a.instrument = rows->columnText(1);
        a.catalogVersion = rows->columnText(2);
        a.administeredOn = rows->columnText(3);
        a.rater = rows->columnText(4);
        a.context = rows->columnText(5);
        if (!rows->isNull(6)) {
            a.sessionNumber = rows->columnInt(6);
        }
        for (const json& item : json::parse(rows->columnText(7), nullptr, false)) {
            a.score.items.push_back(item.is_number() ? std::optional<int>(item.get<int>())
                                                     : std::nullopt);
            a.score.answered += item.is_number() ? 1 : 0;
        }
        a.score.complete = rows->columnInt(8) != 0;
        if (!rows->isNull(9)) {
            a.score.total = static_cast<int>(rows->columnInt(9));
        }
        a.score.band = rows->columnOptionalText(10);
        a.score.bandSet = rows->columnOptionalText(11).value_or("");
        for (const json& alert : json::parse(rows->columnText(12), nullptr, false)) {
            a.score.alerts.push_back(
                {alert.value("id", ""), alert.value("message", ""), alert.value("source", "")});
        }
        list.push_back(std::move(a));
    }
}

Result<Trend> ScaleService::trend(const records::Actor& by, std::string_view mrn,
                                  std::string_view instrumentId,
                                  std::optional<std::int64_t> baselineId) {
    const Instrument* instrument = m_catalog.find(instrumentId);
    if (instrument == nullptr) {
        return makeError(ErrorCode::InvalidInput, "instrument",
                         "'" + std::string(instrumentId) + "' is not an instrument");
    }
    auto all = list(by, mrn);
    NP_TRY(all);
    Trend trend;
    trend.instrument = instrument->id;
    std::vector<Administration> complete;
    for (auto& a : *all) {
        if (a.instrument == instrument->id && a.score.complete && a.score.total) {
            complete.push_back(std::move(a));
        }
    }
    if (baselineId) {
        const auto it = std::find_if(complete.begin(), complete.end(),
                                     [&](const Administration& a) { return a.id == *baselineId; });
        if (it == complete.end()) {
            return makeError(ErrorCode::NotFound, "baseline",
                             "no complete " + instrument->name + " administration " +
                                 std::to_string(*baselineId) + " for " + std::string(mrn));
        }
        trend.baseline = *it;
    } else {
        const auto chosen =
            std::find_if(complete.begin(), complete.end(),
                         [](const Administration& a) { return a.context == "baseline"; });
        if (chosen != complete.end()) {
            trend.baseline = *chosen;
        } else if (!complete.empty()) {
            trend.baseline = complete.front();
        }
    }
    const std::optional<int> baselineTotal =
        trend.baseline ? trend.baseline->score.total : std::nullopt;
    for (auto& a : complete) {
        const Progress p = progress(*instrument, baselineTotal, *a.score.total);
        trend.points.push_back({std::move(a), p});
    }
    return trend;
}

}  // namespace neuroplan::scales
