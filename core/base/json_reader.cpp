#include "base/json_reader.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace neuroplan {

using nlohmann::json;

namespace {

std::string joinAllowed(std::span<const std::string_view> allowed) {
    std::string text;
    for (std::size_t i = 0; i < allowed.size(); ++i) {
        text += (i == 0 ? "" : i + 1 == allowed.size() ? " or " : ", ");
        text += allowed[i];
    }
    return text;
}

Error invalid(std::string path, std::string message) {
    return makeError(ErrorCode::InvalidInput, std::move(path), std::move(message));
}

}  // namespace

Result<json> parseJsonText(std::string_view text, std::string_view origin) {
    try {
        return json::parse(text.begin(), text.end());
    } catch (const json::parse_error& e) {
        return invalid(std::string(origin),
                       "not valid JSON (at byte " + std::to_string(e.byte) + ")");
    }
}

const char* jsonTypeName(const json& value) {
    switch (value.type()) {
        case json::value_t::null:
            return "null";
        case json::value_t::boolean:
            return "a boolean";
        case json::value_t::number_integer:
        case json::value_t::number_unsigned:
        case json::value_t::number_float:
            return "a number";
        case json::value_t::string:
            return "a string";
        case json::value_t::array:
            return "an array";
        case json::value_t::object:
            return "an object";
        default:
            return "an unsupported value";
    }
}

std::string indexPath(std::string_view path, std::size_t index) {
    return std::string(path) + "[" + std::to_string(index) + "]";
}

Result<JsonObject> JsonObject::at(const json& value, std::string path) {
    if (!value.is_object()) {
        return invalid(path.empty() ? "(document)" : path,
                       std::string("expected an object, got ") + jsonTypeName(value));
    }
    return JsonObject(&value, std::move(path));
}

std::string JsonObject::pathOf(std::string_view key) const {
    return m_path.empty() ? std::string(key) : m_path + "." + std::string(key);
}

const json* JsonObject::find(std::string_view key) const {
    const auto it = m_value->find(key);
    if (it == m_value->end() || it->is_null()) {
        return nullptr;
    }
    return &*it;
}

bool JsonObject::has(std::string_view key) const {
    return find(key) != nullptr;
}

Error JsonObject::wrongType(std::string_view key, std::string_view expected) const {
    return invalid(pathOf(key),
                   "expected " + std::string(expected) + ", got " + jsonTypeName(*find(key)));
}

Status JsonObject::allowOnly(std::initializer_list<std::string_view> known) const {
    return allowOnly(std::span<const std::string_view>(known.begin(), known.size()));
}

Status JsonObject::allowOnly(std::span<const std::string_view> known) const {
    // The members in the object's own (sorted) order, as items() gives them, without its
    // per-member proxy; m_value is always an object (see at() and optionalObject()).
    for (const auto& member : m_value->get_ref<const json::object_t&>()) {
        const std::string_view key = member.first;
        if (std::find(known.begin(), known.end(), key) == known.end()) {
            return invalid(pathOf(key), "unknown key");
        }
    }
    return {};
}

Result<std::optional<std::string>> JsonObject::optionalString(std::string_view key) const {
    const json* value = find(key);
    if (value == nullptr) {
        return std::optional<std::string>{};
    }
    if (!value->is_string()) {
        return wrongType(key, "a string");
    }
    return std::optional<std::string>(value->get_ref<const std::string&>());
}

Result<std::string> JsonObject::requiredString(std::string_view key) const {
    auto value = optionalString(key);
    NP_TRY(value);
    if (!*value) {
        return invalid(pathOf(key), "required");
    }
    return **value;
}

Result<std::optional<std::string>> JsonObject::optionalEnum(
    std::string_view key, std::span<const std::string_view> allowed) const {
    const json* value = find(key);
    if (value == nullptr) {
        return std::optional<std::string>{};
    }
    if (!value->is_string()) {
        return wrongType(key, "a string");
    }
    // Compared in place, so that only an allowed value is copied.
    const std::string& text = value->get_ref<const std::string&>();
    if (std::find(allowed.begin(), allowed.end(), text) != allowed.end()) {
        return std::optional<std::string>(text);
    }
    return invalid(pathOf(key), "'" + text + "' is not one of " + joinAllowed(allowed));
}

Result<std::optional<bool>> JsonObject::optionalBool(std::string_view key) const {
    const json* value = find(key);
    if (value == nullptr) {
        return std::optional<bool>{};
    }
    if (!value->is_boolean()) {
        return wrongType(key, "true or false");
    }
    return std::optional<bool>(value->get<bool>());
}

Result<std::optional<double>> JsonObject::optionalNumber(std::string_view key, double min) const {
    const json* value = find(key);
    if (value == nullptr) {
        return std::optional<double>{};
    }
    if (!value->is_number()) {
        return wrongType(key, "a number");
    }
    const double number = value->get<double>();
    if (!std::isfinite(number)) {
        return invalid(pathOf(key), "must be a finite number");
    }
    if (number < min) {
        char text[64];
        std::snprintf(text, sizeof text, "%g", min);
        return invalid(pathOf(key), std::string("must be at least ") + text);
    }
    return std::optional<double>(number);
}

Result<double> JsonObject::requiredNumber(std::string_view key, double min) const {
    auto value = optionalNumber(key, min);
    NP_TRY(value);
    if (!*value) {
        return invalid(pathOf(key), "required");
    }
    return **value;
}

Result<std::optional<long long>> JsonObject::optionalInteger(std::string_view key,
                                                             long long min) const {
    const json* value = find(key);
    if (value == nullptr) {
        return std::optional<long long>{};
    }
    if (!value->is_number_integer() && !value->is_number_unsigned()) {
        if (value->is_number_float()) {
            const double d = value->get<double>();
            if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 1e15) {
                if (static_cast<long long>(d) < min) {
                    return invalid(pathOf(key), "must be at least " + std::to_string(min));
                }
                return std::optional<long long>(static_cast<long long>(d));
            }
        }
        return wrongType(key, "a whole number");
    }
    if (value->is_number_unsigned() &&
        value->get<unsigned long long>() >
            static_cast<unsigned long long>(std::numeric_limits<long long>::max())) {
        return invalid(pathOf(key), "is too large");
    }
    const long long number = value->get<long long>();
    if (number < min) {
        return invalid(pathOf(key), "must be at least " + std::to_string(min));
    }
    return std::optional<long long>(number);
}

Result<std::optional<JsonObject>> JsonObject::optionalObject(std::string_view key) const {
    const json* value = find(key);
    if (value == nullptr) {
        return std::optional<JsonObject>{};
    }
    if (!value->is_object()) {
        return wrongType(key, "an object");
    }
    return std::optional<JsonObject>(JsonObject(value, pathOf(key)));
}

Result<JsonObject> JsonObject::requiredObject(std::string_view key) const {
    auto value = optionalObject(key);
    NP_TRY(value);
    if (!*value) {
        return invalid(pathOf(key), "required");
    }
    return **value;
}

Result<const json*> JsonObject::optionalArray(std::string_view key) const {
    static const json kEmpty = json::array();
    const json* value = find(key);
    if (value == nullptr) {
        return &kEmpty;
    }
    if (!value->is_array()) {
        return wrongType(key, "an array");
    }
    return value;
}

}  // namespace neuroplan
