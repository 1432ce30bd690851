// neuroplan::records — users, roles and what each role may do. Roles are enforced here, in
// the services, so that the GUI, the CLI and any future front end obey the same rules.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "store/store.h"

namespace neuroplan::records {

enum class Role { Technician, Physician, Admin };
const char* toString(Role role);
Result<Role> parseRole(std::string_view text, std::string_view field);

enum class Permission {
    ViewRecords,   ///< read patients and their records
    EditPatients,  ///< register and edit patients
    ManageUsers,   ///< create users and change roles
    SignClinical,  ///< sign eligibility decisions and protocol overrides
};
const char* toString(Permission permission);
bool roleAllows(Role role, Permission permission);

/// An authenticated user acting through a service.
struct Actor {
    std::int64_t userId = 0;
    std::string login;
    std::string displayName;
    Role role = Role::Technician;

    store::AuditIdentity auditIdentity() const { return {userId, login}; }
};

/// PermissionDenied naming the role and the permission, unless the actor's role allows it.
Status require(const Actor& actor, Permission permission);

struct User {
    std::int64_t id = 0;
    std::string login;
    std::string displayName;
    Role role = Role::Technician;
    bool active = true;
    std::string createdUtc;
};

struct NewUser {
    std::string login;
    std::string displayName;
    std::string role;  ///< technician | physician | admin
    std::string password;
};

/// Argon2id (libsodium's crypto_pwhash_str, interactive limits) in its standard encoded form.
Result<std::string> hashPassword(std::string_view password);
bool verifyPassword(std::string_view encodedHash, std::string_view password);
/// A random password for a first-run administrator, 20 characters from an unambiguous set.
std::string generatePassword();

class UserService {
  public:
    explicit UserService(store::Store& store) : m_store(store) {}

    Result<bool> hasUsers();
    /// Creates the first administrator. Refused once any user exists.
    Result<User> bootstrapAdmin(const NewUser& admin);
    Result<User> create(const Actor& by, const NewUser& user);
    Result<std::vector<User>> list(const Actor& by);
    /// The same Unauthenticated error whether the login or the password is wrong.
    Result<Actor> authenticate(std::string_view login, std::string_view password);

  private:
    Result<User> insert(const store::AuditIdentity& by, const NewUser& user, Role role);
    store::Store& m_store;
};

}  // namespace neuroplan::records
