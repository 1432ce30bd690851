#include "sessions/rules.h"

#include <cstdlib>
#include <iostream>

namespace neuroplan::sessions {

std::string_view sessionsV1();  // generated from data/sessions-v1.json

const AdverseEventType* SessionRules::findAdverseEvent(std::string_view wanted) const {
    for (const auto& type : adverseEvents) {
        if (type.id == wanted) {
            return &type;
        }
    }
    return nullptr;
}

Result<SessionRules> loadSessionRules(std::string_view text, std::string_view origin) {
    auto file = DataFile::parse(text, origin, "session-rules");
    NP_TRY(file);
    const JsonObject top = file->top();
    SessionRules rules;
    rules.id = file->id();
    rules.version = file->version();
    auto events = top.requiredObject("adverse_events");
    NP_TRY(events);
    const nlohmann::json& all = file->root().at("adverse_events");
    for (const auto& [key, value] : all.items()) {
        auto object = JsonObject::at(value, events->pathOf(key));
        NP_TRY(object);
        NP_TRY(object->allowOnly({"label", "modalities", "stops_session", "flags_review", "source",
                                  "confidence", "note"}));
        AdverseEventType type;
        type.id = key;
        auto label = object->requiredString("label");
        NP_TRY(label);
        type.label = *label;
        auto stops = object->optionalBool("stops_session");
        NP_TRY(stops);
        auto flags = object->optionalBool("flags_review");
        NP_TRY(flags);
        if (!*stops || !*flags) {
            return makeError(ErrorCode::InvalidInput, object->path(),
                             "stops_session and flags_review are required");
        }
        type.stopsSession = **stops;
        type.flagsReview = **flags;
        auto modalities = object->optionalArray("modalities");
        NP_TRY(modalities);
        for (const auto& modality : **modalities) {
            if (!modality.is_string() || (modality != "rtms" && modality != "vns")) {
                return makeError(ErrorCode::InvalidInput, object->pathOf("modalities"),
                                 "expected rtms or vns");
            }
            type.modalities.push_back(modality.get<std::string>());
        }
        auto from = file->provenance(*object);
        NP_TRY(from);
        type.from = *from;
        rules.adverseEvents.push_back(std::move(type));
    }
    auto journal = top.requiredObject("journal");
    NP_TRY(journal);
    auto commit = file->number(*journal, "group_commit_interval_ms", 1);
    NP_TRY(commit);
    rules.groupCommitMs = *commit;
    auto link = top.requiredObject("link");
    NP_TRY(link);
    auto wait = file->number(*link, "restore_wait_s", 0);
    NP_TRY(wait);
    rules.linkRestoreWaitS = *wait;
    return rules;
}

const SessionRules& builtInSessionRules() {
    static const SessionRules rules = [] {
        auto loaded = loadSessionRules(sessionsV1(), "sessions-v1.json");
        if (!loaded) {
            std::cerr << "built-in sessions-v1.json is broken: " << loaded.error().describe()
                      << '\n';
            std::abort();
        }
        return *loaded;
    }();
    return rules;
}

}  // namespace neuroplan::sessions
