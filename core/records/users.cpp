#include "records/users.h"

#include <sodium.h>

#include <nlohmann/json.hpp>

namespace neuroplan::records {

using nlohmann::json;

namespace {

constexpr std::size_t kMinPasswordLength = 12;  // security policy, not a clinical value
constexpr std::size_t kMaxNameLength = 100;

bool validLogin(std::string_view login) {
    if (login.empty() || login.size() > 64) {
        return false;
    }
    for (char c : login) {
        const bool ok =
            (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
        if (!ok) {
            return false;
        }
    }
    return true;
}

json toJson(const User& user) {
    return json{{"id", user.id},
                {"login", user.login},
                {"display_name", user.displayName},
                {"role", toString(user.role)},
                {"active", user.active}};
}

}  // namespace

const char* toString(Role role) {
    switch (role) {
        case Role::Technician:
            return "technician";
        case Role::Physician:
            return "physician";
        case Role::Admin:
            return "admin";
    }
    return "technician";
}

Result<Role> parseRole(std::string_view text, std::string_view field) {
    for (Role role : {Role::Technician, Role::Physician, Role::Admin}) {
        if (text == toString(role)) {
            return role;
        }
    }
    return makeError(ErrorCode::InvalidInput, std::string(field),
                     "expected technician, physician or admin, got '" + std::string(text) + "'");
}

const char* toString(Permission permission) {
    switch (permission) {
        case Permission::ViewRecords:
            return "view records";
        case Permission::EditPatients:
            return "edit patients";
        case Permission::ManageUsers:
            return "manage users";
        case Permission::SignClinical:
            return "sign clinical decisions";
    }
    return "?";
}

bool roleAllows(Role role, Permission permission) {
    switch (permission) {
        case Permission::ViewRecords:
        case Permission::EditPatients:
            return true;  // front-desk registration is done by every role
        case Permission::ManageUsers:
            return role == Role::Admin;
        case Permission::SignClinical:
            return role == Role::Physician;
    }
    return false;
}

Status require(const Actor& actor, Permission permission) {
    if (roleAllows(actor.role, permission)) {
        return {};
    }
    return makeError(ErrorCode::PermissionDenied, "",
                     "user '" + actor.login + "' (" + toString(actor.role) + ") may not " +
                         toString(permission));
}

Result<std::string> hashPassword(std::string_view password) {
    if (sodium_init() < 0) {
        return makeError(ErrorCode::Internal, "", "libsodium failed to initialise");
    }
    char encoded[crypto_pwhash_STRBYTES];
    if (crypto_pwhash_str(encoded, password.data(), password.size(),
                          crypto_pwhash_OPSLIMIT_INTERACTIVE,
                          crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0) {
        return makeError(ErrorCode::Internal, "password", "out of memory while hashing");
    }
    return std::string(encoded);
}

bool verifyPassword(std::string_view encodedHash, std::string_view password) {
    if (sodium_init() < 0) {
        return false;
    }
    const std::string hash(encodedHash);
    return crypto_pwhash_str_verify(hash.c_str(), password.data(), password.size()) == 0;
}

std::string generatePassword() {
    static constexpr std::string_view kAlphabet =
        "abcdefghjkmnpqrstuvwxyzACDEFGHJKMNPQRTUVWXY34679";
    if (sodium_init() < 0) {
        return {};
    }
    std::string password;
    for (int i = 0; i < 20; ++i) {
        password += kAlphabet[randombytes_uniform(static_cast<uint32_t>(kAlphabet.size()))];
    }
    return password;
}

Result<bool> UserService::hasUsers() {
    auto count = m_store.db().queryInt("SELECT count(*) FROM users");
    NP_TRY(count);
    return *count > 0;
}

Result<User> UserService::bootstrapAdmin(const NewUser& admin) {
    auto any = hasUsers();
    NP_TRY(any);
    if (*any) {
        return makeError(ErrorCode::Conflict, "", "users exist already; ask an administrator");
    }
    return insert(store::AuditIdentity{std::nullopt, "system"}, admin, Role::Admin);
}

Result<User> UserService::create(const Actor& by, const NewUser& user) {
    NP_TRY(require(by, Permission::ManageUsers));
    auto role = parseRole(user.role, "role");
    NP_TRY(role);
    return insert(by.auditIdentity(), user, *role);
}

Result<User> UserService::insert(const store::AuditIdentity& by, const NewUser& input, Role role) {
    if (!validLogin(input.login)) {
        return makeError(ErrorCode::InvalidInput, "login",
                         "use 1-64 lower-case letters, digits, '.', '_' or '-'");
    }
    if (input.displayName.empty() || input.displayName.size() > kMaxNameLength) {
        return makeError(ErrorCode::InvalidInput, "display_name",
                         "must be 1-" + std::to_string(kMaxNameLength) + " characters");
    }
    if (input.password.size() < kMinPasswordLength) {
        return makeError(ErrorCode::InvalidInput, "password",
                         "must be at least " + std::to_string(kMinPasswordLength) + " characters");
    }
    auto hash = hashPassword(input.password);
    NP_TRY(hash);

    User user;
    user.login = input.login;
    user.displayName = input.displayName;
    user.role = role;
    user.createdUtc = formatUtc(m_store.clock()());
    NP_TRY(m_store.write(by, [&](store::WriteContext& w) -> Status {
        auto exists = w.db().prepare("SELECT 1 FROM users WHERE login = ?");
        NP_TRY(exists);
        exists->bindAll(user.login);
        auto found = exists->step();
        NP_TRY(found);
        if (*found) {
            return makeError(ErrorCode::Conflict, "login",
                             "a user '" + user.login + "' exists already");
        }
        auto insert = w.db().prepare(
            "INSERT INTO users (login, display_name, role, password_hash, created_utc) "
            "VALUES (?, ?, ?, ?, ?)");
        NP_TRY(insert);
        insert->bindAll(user.login, user.displayName, toString(role), *hash, user.createdUtc);
        NP_TRY(insert->run());
        user.id = w.db().lastInsertRowId();
        // The password hash stays out of the audit summary.
        return w.audit("user", std::to_string(user.id), "create", nullptr, toJson(user));
    }));
    return user;
}

Result<std::vector<User>> UserService::list(const Actor& by) {
    NP_TRY(require(by, Permission::ManageUsers));
    auto rows = m_store.db().prepare(
        "SELECT id, login, display_name, role, active, created_utc FROM users ORDER BY login");
    NP_TRY(rows);
    std::vector<User> users;
    for (;;) {
        auto more = rows->step();
        NP_TRY(more);
        if (!*more) {
            return users;
        }
        User user;
        user.id = rows->columnInt(0);
        user.login = rows->columnText(1);
        user.displayName = rows->columnText(2);
        auto role = parseRole(rows->columnText(3), "role");
        NP_TRY(role);
        user.role = *role;
        user.active = rows->columnInt(4) != 0;
        user.createdUtc = rows->columnText(5);
        users.push_back(std::move(user));
    }
}

Result<Actor> UserService::authenticate(std::string_view login, std::string_view password) {
    const auto refused = [] {
        return makeError(ErrorCode::Unauthenticated, "user", "unknown user or wrong password");
    };
    auto row = m_store.db().prepare(
        "SELECT id, login, display_name, role, password_hash, active FROM users WHERE login = ?");
    NP_TRY(row);
    row->bindAll(login);
    auto found = row->step();
    NP_TRY(found);
    if (!*found) {
        // Spend the same work as a real check so that timing does not reveal logins.
        static const std::string dummy = hashPassword("not-a-real-password").value();
        (void)verifyPassword(dummy, password);
        return refused();
    }
    if (!verifyPassword(row->columnText(4), password) || row->columnInt(5) == 0) {
        return refused();
    }
    auto role = parseRole(row->columnText(3), "role");
    NP_TRY(role);
    return Actor{row->columnInt(0), row->columnText(1), row->columnText(2), *role};
}

}  // namespace neuroplan::records
