#include <gtest/gtest.h>

#include "records/patients.h"
#include "records/users.h"
#include "support.h"

namespace neuroplan::records {
namespace {

using neuroplan::testing::kTestPassword;
using neuroplan::testing::TestClinic;

std::int64_t auditEntries(store::Store& store) {
    return store.db().queryInt("SELECT count(*) FROM audit_log").value();
}

PatientInput validPatient(std::string mrn = "MRN-001") {
    return PatientInput{std::move(mrn), "Lovelace", "Ada", "1985-12-10", "female"};
}

TEST(Roles, PermissionMatrix) {
    EXPECT_TRUE(roleAllows(Role::Admin, Permission::ManageUsers));
    EXPECT_FALSE(roleAllows(Role::Physician, Permission::ManageUsers));
    EXPECT_FALSE(roleAllows(Role::Technician, Permission::ManageUsers));
    EXPECT_TRUE(roleAllows(Role::Physician, Permission::SignClinical));
    EXPECT_FALSE(roleAllows(Role::Technician, Permission::SignClinical));
    EXPECT_FALSE(roleAllows(Role::Admin, Permission::SignClinical));
    for (Role role : {Role::Technician, Role::Physician, Role::Admin}) {
        EXPECT_TRUE(roleAllows(role, Permission::ViewRecords));
        EXPECT_TRUE(roleAllows(role, Permission::EditPatients));
    }
}

TEST(Roles, ParseNamesTheField) {
    EXPECT_EQ(parseRole("physician", "role").value(), Role::Physician);
    auto bad = parseRole("surgeon", "role");
    ASSERT_FALSE(bad.ok());
    EXPECT_EQ(bad.error().field, "role");
}

TEST(Users, OnlyAnAdminCreatesUsers) {
    TestClinic clinic;
    UserService users(*clinic.store);
    const auto before = auditEntries(*clinic.store);
    for (const Actor* actor : {&clinic.technician, &clinic.physician}) {
        auto refused = users.create(*actor, {"newbie", "New Bie", "technician", kTestPassword});
        ASSERT_FALSE(refused.ok());
        EXPECT_EQ(refused.error().code, ErrorCode::PermissionDenied);
    }
    EXPECT_EQ(auditEntries(*clinic.store), before);
    EXPECT_TRUE(
        users.create(clinic.admin, {"newbie", "New Bie", "technician", kTestPassword}).ok());
    EXPECT_EQ(auditEntries(*clinic.store), before + 1);
}

TEST(Users, OnlyAnAdminListsUsers) {
    TestClinic clinic;
    UserService users(*clinic.store);
    EXPECT_EQ(users.list(clinic.technician).error().code, ErrorCode::PermissionDenied);
    auto all = users.list(clinic.admin);
    ASSERT_TRUE(all.ok());
    EXPECT_EQ(all->size(), 3u);
}

TEST(Users, BootstrapIsRefusedOnceUsersExist) {
    TestClinic clinic;
    auto again =
        UserService(*clinic.store).bootstrapAdmin({"root", "Root", "admin", kTestPassword});
    ASSERT_FALSE(again.ok());
    EXPECT_EQ(again.error().code, ErrorCode::Conflict);
}

TEST(Users, AuthenticationChecksThePassword) {
    TestClinic clinic;
    UserService users(*clinic.store);
    auto ok = users.authenticate("doc", kTestPassword);
    ASSERT_TRUE(ok.ok());
    EXPECT_EQ(ok->role, Role::Physician);
    EXPECT_EQ(ok->login, "doc");
    auto wrong = users.authenticate("doc", "wrong-password-here");
    ASSERT_FALSE(wrong.ok());
    EXPECT_EQ(wrong.error().code, ErrorCode::Unauthenticated);
    auto unknown = users.authenticate("nobody", kTestPassword);
    ASSERT_FALSE(unknown.ok());
    EXPECT_EQ(unknown.error().message, wrong.error().message);
}

TEST(Users, PasswordsAreStoredAsArgon2idHashes) {
    TestClinic clinic;
    auto row = clinic.store->db().prepare("SELECT password_hash FROM users WHERE login = 'doc'");
    ASSERT_TRUE(row.ok());
    ASSERT_TRUE(row->step().value());
    const std::string hash = row->columnText(0);
    EXPECT_EQ(hash.rfind("$argon2id$", 0), 0u) << hash;
    EXPECT_EQ(hash.find(kTestPassword), std::string::npos);
}

TEST(Users, AuditSummaryNeverHoldsThePasswordHash) {
    TestClinic clinic;
    EXPECT_EQ(clinic.store->db()
                  .queryInt("SELECT count(*) FROM audit_log WHERE summary LIKE '%argon2%'")
                  .value(),
              0);
}

TEST(Users, InputIsValidatedByField) {
    TestClinic clinic;
    UserService users(*clinic.store);
    struct Case {
        NewUser user;
        const char* field;
        ErrorCode code;
    };
    const Case cases[] = {
        {{"Bad Login", "B", "technician", kTestPassword}, "login", ErrorCode::InvalidInput},
        {{"", "B", "technician", kTestPassword}, "login", ErrorCode::InvalidInput},
        {{"ok", "", "technician", kTestPassword}, "display_name", ErrorCode::InvalidInput},
        {{"ok", "B", "surgeon", kTestPassword}, "role", ErrorCode::InvalidInput},
        {{"ok", "B", "technician", "short"}, "password", ErrorCode::InvalidInput},
        {{"doc", "Dup", "technician", kTestPassword}, "login", ErrorCode::Conflict},
    };
    for (const auto& c : cases) {
        auto result = users.create(clinic.admin, c.user);
        ASSERT_FALSE(result.ok()) << c.field;
        EXPECT_EQ(result.error().field, c.field);
        EXPECT_EQ(result.error().code, c.code) << c.field;
    }
}

TEST(Patients, AddListAndFind) {
    TestClinic clinic;
    PatientService patients(*clinic.store);
    ASSERT_TRUE(patients.add(clinic.technician, validPatient("B-2")).ok());
    ASSERT_TRUE(
        patients.add(clinic.physician, {"A-1", "Curie", "Marie", "1967-11-07", "female"}).ok());
    auto all = patients.list(clinic.technician);
    ASSERT_TRUE(all.ok());
    ASSERT_EQ(all->size(), 2u);
    EXPECT_EQ((*all)[0].familyName, "Curie");  // sorted by family name
    auto found = patients.findByMrn(clinic.physician, "B-2");
    ASSERT_TRUE(found.ok());
    EXPECT_EQ(found->givenName, "Ada");
    EXPECT_EQ(found->birthDate, "1985-12-10");
}

TEST(Patients, EveryWriteIsAuditedWithTheActor) {
    TestClinic clinic;
    ASSERT_TRUE(PatientService(*clinic.store).add(clinic.technician, validPatient()).ok());
    auto row = clinic.store->db().prepare(
        "SELECT user_login, entity, entity_id, action, summary FROM audit_log "
        "ORDER BY id DESC LIMIT 1");
    ASSERT_TRUE(row.ok());
    ASSERT_TRUE(row->step().value());
    EXPECT_EQ(row->columnText(0), "tech");
    EXPECT_EQ(row->columnText(1), "patient");
    EXPECT_EQ(row->columnText(2), "MRN-001");
    EXPECT_EQ(row->columnText(3), "create");
    EXPECT_NE(row->columnText(4).find("Lovelace"), std::string::npos);
    EXPECT_TRUE(clinic.store->verifyAudit()->intact);
}

TEST(Patients, DuplicateMrnIsAConflictAndWritesNothing) {
    TestClinic clinic;
    PatientService patients(*clinic.store);
    ASSERT_TRUE(patients.add(clinic.technician, validPatient()).ok());
    const auto before = auditEntries(*clinic.store);
    auto again = patients.add(clinic.technician, validPatient());
    ASSERT_FALSE(again.ok());
    EXPECT_EQ(again.error().code, ErrorCode::Conflict);
    EXPECT_EQ(again.error().field, "mrn");
    EXPECT_EQ(auditEntries(*clinic.store), before);
}

TEST(Patients, InvalidInputNamesTheFieldAndWritesNothing) {
    TestClinic clinic;
    PatientService patients(*clinic.store);
    const auto before = auditEntries(*clinic.store);
    const auto withField = [](auto mutate) {
        PatientInput input = validPatient();
        mutate(input);
        return input;
    };
    const std::pair<PatientInput, const char*> cases[] = {
        {withField([](PatientInput& p) { p.mrn = ""; }), "mrn"},
        {withField([](PatientInput& p) { p.mrn = "has space"; }), "mrn"},
        {withField([](PatientInput& p) { p.mrn = std::string(33, 'A'); }), "mrn"},
        {withField([](PatientInput& p) { p.familyName = "  "; }), "family_name"},
        {withField([](PatientInput& p) { p.givenName = ""; }), "given_name"},
        {withField([](PatientInput& p) { p.givenName = "Tab\tName"; }), "given_name"},
        {withField([](PatientInput& p) { p.birthDate = "2023-02-29"; }), "birth_date"},
        {withField([](PatientInput& p) { p.birthDate = "10/12/1985"; }), "birth_date"},
        {withField([](PatientInput& p) { p.birthDate = "2999-01-01"; }), "birth_date"},
        {withField([](PatientInput& p) { p.birthDate = "1899-12-31"; }), "birth_date"},
        {withField([](PatientInput& p) { p.sex = "f"; }), "sex"},
    };
    for (const auto& [input, field] : cases) {
        auto result = patients.add(clinic.technician, input);
        ASSERT_FALSE(result.ok()) << field;
        EXPECT_EQ(result.error().code, ErrorCode::InvalidInput) << field;
        EXPECT_EQ(result.error().field, field);
    }
    EXPECT_EQ(auditEntries(*clinic.store), before);
    EXPECT_TRUE(patients.list(clinic.admin)->empty());
}

TEST(Patients, UnknownMrnIsNotFound) {
    TestClinic clinic;
    auto missing = PatientService(*clinic.store).findByMrn(clinic.technician, "NOPE");
    ASSERT_FALSE(missing.ok());
    EXPECT_EQ(missing.error().code, ErrorCode::NotFound);
    EXPECT_EQ(missing.error().field, "mrn");
}

}  // namespace
}  // namespace neuroplan::records
