#include "base/datafile.h"

#include <array>

namespace neuroplan {

namespace {
constexpr std::array<std::string_view, 3> kConfidence{"V", "S", "R"};
}

Result<DataFile> DataFile::parse(std::string_view text, std::string_view origin,
                                 std::string_view expectedKind) {
    auto parsed = parseJsonText(text, origin);
    NP_TRY(parsed);
    DataFile file;
    file.m_root = std::move(parsed).value();
    auto top = JsonObject::at(file.m_root, "");
    NP_TRY(top);
    auto format = top->requiredString("format");
    NP_TRY(format);
    if (*format != "neuroplan-data/1") {
        return makeError(ErrorCode::InvalidInput, "format",
                         "unsupported data format '" + *format + "'");
    }
    auto kind = top->requiredString("kind");
    NP_TRY(kind);
    if (*kind != expectedKind) {
        return makeError(ErrorCode::InvalidInput, "kind",
                         "expected '" + std::string(expectedKind) + "', got '" + *kind + "'");
    }
    auto id = top->requiredString("id");
    NP_TRY(id);
    auto version = top->requiredString("version");
    NP_TRY(version);
    file.m_id = *id;
    file.m_version = *version;
    auto sources = top->requiredObject("sources");
    NP_TRY(sources);
    for (const auto& [key, value] : file.m_root["sources"].items()) {
        auto entry = JsonObject::at(value, sources->pathOf(key));
        NP_TRY(entry);
        NP_TRY(entry->allowOnly({"citation", "confidence"}));
        auto citation = entry->requiredString("citation");
        NP_TRY(citation);
        auto confidence = entry->optionalEnum("confidence", kConfidence);
        NP_TRY(confidence);
        file.m_sources[key] = Citation{key, *citation, confidence->value_or("R")};
    }
    return file;
}

Result<Provenance> DataFile::provenance(const JsonObject& object) const {
    auto source = object.requiredString("source");
    NP_TRY(source);
    const auto it = m_sources.find(*source);
    if (it == m_sources.end()) {
        return makeError(ErrorCode::InvalidInput, object.pathOf("source"),
                         "'" + *source + "' is not listed in sources");
    }
    auto confidence = object.optionalEnum("confidence", kConfidence);
    NP_TRY(confidence);
    return Provenance{*source, confidence->value_or(it->second.confidence), it->second.text};
}

Result<Sourced<double>> DataFile::number(const JsonObject& parent, std::string_view key,
                                         double min) const {
    auto object = parent.requiredObject(key);
    NP_TRY(object);
    NP_TRY(object->allowOnly(
        {"value", "unit", "source", "confidence", "note", "allowed_min", "allowed_max"}));
    auto value = object->requiredNumber("value", min);
    NP_TRY(value);
    auto from = provenance(*object);
    NP_TRY(from);
    auto unit = object->optionalString("unit");
    NP_TRY(unit);
    auto allowedMin = object->optionalNumber("allowed_min", -1e300);
    NP_TRY(allowedMin);
    auto allowedMax = object->optionalNumber("allowed_max", -1e300);
    NP_TRY(allowedMax);
    if ((*allowedMin && *value < **allowedMin) || (*allowedMax && *value > **allowedMax)) {
        return makeError(ErrorCode::InvalidInput, object->pathOf("value"),
                         "outside the range this value may be set to");
    }
    Sourced<double> result{*value, *from, unit->value_or("")};
    result.allowedMin = allowedMin->value_or(-1e300);
    result.allowedMax = allowedMax->value_or(1e300);
    return result;
}

}  // namespace neuroplan
