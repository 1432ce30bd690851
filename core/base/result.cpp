#include "base/result.h"

namespace neuroplan {

const char* toString(ErrorCode code) {
    switch (code) {
        case ErrorCode::InvalidInput:
            return "invalid_input";
        case ErrorCode::NotFound:
            return "not_found";
        case ErrorCode::Conflict:
            return "conflict";
        case ErrorCode::Unauthenticated:
            return "unauthenticated";
        case ErrorCode::PermissionDenied:
            return "permission_denied";
        case ErrorCode::IncompatibleStore:
            return "incompatible_store";
        case ErrorCode::Storage:
            return "storage";
        case ErrorCode::Internal:
            return "internal";
    }
    return "internal";
}

std::string Error::describe() const {
    if (field.empty()) {
        return message;
    }
    return field + ": " + message;
}

}  // namespace neuroplan
