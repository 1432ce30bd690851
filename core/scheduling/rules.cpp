#include "scheduling/rules.h"

#include <array>
#include <cstdio>
#include <cstdlib>

namespace neuroplan::scheduling {

std::string_view schedulingV1();  // embedded data/scheduling-v1.json

namespace {

Error bad(std::string path, std::string message) {
    return makeError(ErrorCode::InvalidInput, std::move(path), std::move(message));
}

Result<std::vector<std::string>> roles(const JsonObject& object, std::string_view key) {
    auto array = object.optionalArray(key);
    NP_TRY(array);
    std::vector<std::string> list;
    const std::string path = object.pathOf(key);
    for (std::size_t i = 0; i < (*array)->size(); ++i) {
        const nlohmann::json& role = (**array)[i];
        if (!role.is_string() || (role != "technician" && role != "nurse" && role != "physician")) {
            return bad(indexPath(path, i), "expected technician, nurse or physician");
        }
        list.push_back(role.get<std::string>());
    }
    if (list.empty()) {
        return bad(path, "needs at least one role");
    }
    return list;
}

}  // namespace

const Rhythm* SchedulingRules::find(std::string_view id) const {
    for (const Rhythm& rhythm : rhythms) {
        if (rhythm.id == id) {
            return &rhythm;
        }
    }
    return nullptr;
}

const Rhythm* SchedulingRules::defaultFor(std::string_view appliesTo) const {
    const auto it = defaults.find(std::string(appliesTo));
    return it == defaults.end() ? nullptr : find(it->second);
}

Result<SchedulingRules> loadSchedulingRules(std::string_view text, std::string_view origin) {
    auto file = DataFile::parse(text, origin, "scheduling-rules");
    NP_TRY(file);
    const JsonObject top = file->top();
    NP_TRY(top.allowOnly({"format", "kind", "id", "version", "note", "sources", "appointment",
                          "qualified_roles", "rhythms", "defaults"}));
    SchedulingRules rules;
    rules.version = file->id() + " " + file->version();

    auto appointment = top.requiredObject("appointment");
    NP_TRY(appointment);
    NP_TRY(appointment->allowOnly(
        {"setup_minutes", "grid_minutes", "vns_visit_minutes", "horizon_days"}));
    auto setup = file->number(*appointment, "setup_minutes", 0);
    NP_TRY(setup);
    auto grid = file->number(*appointment, "grid_minutes", 1);
    NP_TRY(grid);
    auto visit = file->number(*appointment, "vns_visit_minutes", 1);
    NP_TRY(visit);
    auto horizon = file->number(*appointment, "horizon_days", 7);
    NP_TRY(horizon);
    rules.setupMinutes = *setup;
    rules.gridMinutes = *grid;
    rules.vnsVisitMinutes = *visit;
    rules.horizonDays = *horizon;

    auto qualified = top.requiredObject("qualified_roles");
    NP_TRY(qualified);
    NP_TRY(qualified->allowOnly({"rtms", "vns", "source", "confidence"}));
    auto rtmsRoles = roles(*qualified, "rtms");
    NP_TRY(rtmsRoles);
    auto vnsRoles = roles(*qualified, "vns");
    NP_TRY(vnsRoles);
    auto rolesFrom = file->provenance(*qualified);
    NP_TRY(rolesFrom);
    rules.rtmsRoles = *rtmsRoles;
    rules.vnsRoles = *vnsRoles;
    rules.rolesFrom = *rolesFrom;

    auto rhythms = top.optionalArray("rhythms");
    NP_TRY(rhythms);
    const std::string rhythmsPath = top.pathOf("rhythms");
    for (std::size_t i = 0; i < (*rhythms)->size(); ++i) {
        const std::string path = indexPath(rhythmsPath, i);
        auto object = JsonObject::at(&(**rhythms)[i], path);
        NP_TRY(object);
        NP_TRY(object->allowOnly(
            {"id", "label", "applies_to", "sessions_per_week", "days_per_week", "taper"}));
        Rhythm rhythm;
        auto id = object->requiredString("id");
        NP_TRY(id);
        auto label = object->requiredString("label");
        NP_TRY(label);
        static constexpr std::array<std::string_view, 3> kApplies{"rtms", "rtms_accelerated",
                                                                  "vns"};
        auto applies = object->optionalEnum("applies_to", kApplies);
        NP_TRY(applies);
        if (!*applies) {
            return bad(object->pathOf("applies_to"), "required");
        }
        rhythm.id = *id;
        rhythm.label = *label;
        rhythm.appliesTo = **applies;
        const char* perWeekKey = rhythm.appliesTo == "rtms"               ? "sessions_per_week"
                                 : rhythm.appliesTo == "rtms_accelerated" ? "days_per_week"
                                                                          : nullptr;
        if (perWeekKey != nullptr) {
            auto perWeek = file->number(*object, perWeekKey, 1);
            NP_TRY(perWeek);
            if (perWeek->value > 7 || perWeek->value != static_cast<int>(perWeek->value)) {
                return bad(object->pathOf(perWeekKey), "must be a whole number from 1 to 7");
            }
            rhythm.perWeek = *perWeek;
        }
        auto taper = object->optionalArray("taper");
        NP_TRY(taper);
        for (std::size_t t = 0; t < (*taper)->size(); ++t) {
            const std::string phasePath = indexPath(object->pathOf("taper"), t);
            auto phase = JsonObject::at(&(**taper)[t], phasePath);
            NP_TRY(phase);
            NP_TRY(phase->allowOnly({"weeks", "sessions_per_week", "source", "confidence"}));
            auto weeks = phase->optionalInteger("weeks", 1);
            NP_TRY(weeks);
            auto perWeek = phase->optionalInteger("sessions_per_week", 1);
            NP_TRY(perWeek);
            if (!*weeks || !*perWeek || **perWeek > 7) {
                return bad(phasePath, "needs weeks >= 1 and sessions_per_week from 1 to 7");
            }
            auto from = file->provenance(*phase);
            NP_TRY(from);
            rhythm.taper.push_back({static_cast<int>(**weeks), static_cast<int>(**perWeek), *from});
        }
        if (rules.find(rhythm.id) != nullptr) {
            return bad(object->pathOf("id"), "rhythm '" + rhythm.id + "' is listed twice");
        }
        rules.rhythms.push_back(std::move(rhythm));
    }

    auto defaults = top.requiredObject("defaults");
    NP_TRY(defaults);
    NP_TRY(defaults->allowOnly({"rtms", "rtms_accelerated", "vns"}));
    for (const char* kind : {"rtms", "rtms_accelerated", "vns"}) {
        auto id = defaults->requiredString(kind);
        NP_TRY(id);
        const Rhythm* rhythm = rules.find(*id);
        if (rhythm == nullptr || rhythm->appliesTo != kind) {
            return bad(defaults->pathOf(kind),
                       "names no rhythm that applies to " + std::string(kind) + ": '" + *id + "'");
        }
        rules.defaults[kind] = *id;
    }
    return rules;
}

const SchedulingRules& SchedulingRules::builtIn() {
    static const SchedulingRules rules = [] {
        auto loaded = loadSchedulingRules(schedulingV1(), "scheduling-v1.json");
        if (!loaded) {
            std::fprintf(stderr, "built-in scheduling-v1.json is broken: %s\n",
                         loaded.error().describe().c_str());
            std::abort();
        }
        return std::move(loaded).value();
    }();
    return rules;
}

}  // namespace neuroplan::scheduling
