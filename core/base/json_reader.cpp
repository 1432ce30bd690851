#include "base/json_reader.h"

#include "base/json_object_impl.h"

namespace neuroplan {

using nlohmann::json;

Result<json> parseJsonText(std::string_view text, std::string_view origin) {
    try {
        return json::parse(text.begin(), text.end());
    } catch (const json::parse_error& e) {
        return json_detail::invalid(std::string(origin),
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

NlohmannBackend::Ref NlohmannBackend::find(Handle object, std::string_view key) {
    const auto it = object->find(key);
    if (it == object->end() || it->is_null()) {
        return nullptr;
    }
    return &*it;
}

const char* NlohmannBackend::typeName(Handle value) {
    return jsonTypeName(*value);
}

JsonNumberKind NlohmannBackend::numberKind(Handle value) {
    if (value->is_number_integer() && !value->is_number_unsigned()) {
        return JsonNumberKind::Signed;
    }
    return value->is_number_unsigned() ? JsonNumberKind::Unsigned : JsonNumberKind::Float;
}

NlohmannBackend::ArrayRef NlohmannBackend::emptyArray() {
    static const json kEmpty = json::array();
    return &kEmpty;
}

template class BasicJsonObject<NlohmannBackend>;

}  // namespace neuroplan
