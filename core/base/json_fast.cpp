#include "base/json_fast.h"

#include "base/json_object_impl.h"

namespace neuroplan {

SimdBackend::Ref SimdBackend::find(Handle object, std::string_view key) {
    simdjson::dom::object members;
    simdjson::dom::element member;
    if (object.get(members) != simdjson::SUCCESS ||
        members.at_key(key).get(member) != simdjson::SUCCESS || member.is_null()) {
        return std::nullopt;
    }
    return member;
}

const char* SimdBackend::typeName(Handle value) {
    switch (value.type()) {
        case simdjson::dom::element_type::NULL_VALUE:
            return "null";
        case simdjson::dom::element_type::BOOL:
            return "a boolean";
        case simdjson::dom::element_type::INT64:
        case simdjson::dom::element_type::UINT64:
        case simdjson::dom::element_type::DOUBLE:
            return "a number";
        case simdjson::dom::element_type::STRING:
            return "a string";
        case simdjson::dom::element_type::ARRAY:
            return "an array";
        case simdjson::dom::element_type::OBJECT:
            return "an object";
    }
    return "an unsupported value";
}

JsonNumberKind SimdBackend::numberKind(Handle value) {
    switch (value.type()) {
        case simdjson::dom::element_type::INT64:
            return JsonNumberKind::Signed;
        case simdjson::dom::element_type::UINT64:
            return JsonNumberKind::Unsigned;
        default:
            return JsonNumberKind::Float;
    }
}

std::optional<simdjson::dom::element> FastJsonParser::parse(std::string_view text) {
    simdjson::dom::element document;
    if (m_parser.parse(text.data(), text.size()).get(document) != simdjson::SUCCESS) {
        return std::nullopt;
    }
    return document;
}

template class BasicJsonObject<SimdBackend>;

}  // namespace neuroplan
