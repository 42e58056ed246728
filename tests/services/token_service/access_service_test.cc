// Integration tests of AccessService (Check and Explain) through gRPC,
// against TokenService running in-process on a loopback port.

#include <memory>
#include <string>

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "libs/ids/ids.h"
#include "libs/store/records.h"
#include "libs/tokens/token_registry.h"
#include "tests/services/token_service/test_server.h"
#include "warden/access/v1/access_service.grpc.pb.h"

namespace warden::testing {
namespace {

namespace av1 = access::v1;

class AccessServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    stub_ = av1::AccessService::NewStub(server_.channel());
    auto admin = server_.app().registry().Authenticate(server_.admin_token());
    ASSERT_TRUE(admin.ok()) << admin.status();
    admin_ = *admin;
    org_ = admin_.organization_id();

    // A viewer with templates.view only, a template shared with the viewer
    // at view level, and a service user with the same set and no grant.
    model::v1::PermissionSet viewers;
    viewers.set_id(ids::NewId(ids::kPermissionSet));
    viewers.set_organization_id(org_);
    viewers.set_name("Viewers");
    viewers.add_permissions("templates.view");
    model::v1::User viewer;
    viewer.set_id(ids::NewId(ids::kUser));
    viewer.set_organization_id(org_);
    viewer.set_email("viewer@example.com");
    viewer.set_display_name("Vera Viewer");
    viewer.set_status(model::v1::USER_STATUS_ACTIVE);
    viewer.set_permission_set_id(viewers.id());
    model::v1::Item item;
    item.set_id(ids::NewId(ids::kItem));
    item.set_organization_id(org_);
    item.set_type("template");
    item.set_name("Daily checklist");
    model::v1::Grant grant;
    grant.set_id(ids::NewId(ids::kGrant));
    grant.set_organization_id(org_);
    grant.set_item_id(item.id());
    grant.mutable_grantee()->set_user_id(viewer.id());
    grant.set_level(model::v1::ACCESS_LEVEL_VIEW);
    auto written = server_.app().store().Write(
        "test.setup", [&](store::WriteTxn& txn) -> absl::Status {
          for (const auto& record : {store::Wrap(viewers), store::Wrap(viewer),
                                     store::Wrap(item), store::Wrap(grant)}) {
            auto status = store::PutRecord(txn, record);
            if (!status.ok()) return status;
          }
          return absl::OkStatus();
        });
    ASSERT_TRUE(written.ok()) << written.status();
    viewer_id_ = viewer.id();
    item_id_ = item.id();

    tokens::Caller as_viewer;
    as_viewer.set_organization_id(org_);
    as_viewer.set_kind(model::v1::SUBJECT_KIND_USER);
    as_viewer.set_subject_id(viewer_id_);
    as_viewer.set_display_name("Vera Viewer");
    auto viewer_token = server_.app().registry().CreateUserToken(
        as_viewer, "viewer script", 0, "");
    ASSERT_TRUE(viewer_token.ok()) << viewer_token.status();
    viewer_token_ = viewer_token->secret;

    auto service = server_.app().registry().CreateServiceUserToken(
        admin_, "Report export", 0, {viewers.id()}, "");
    ASSERT_TRUE(service.ok()) << service.status();
    service_token_ = service->secret;
    service_token_id_ = service->details.token.id();
  }

  av1::AccessQuestion AboutUser(const std::string& user_id,
                                const std::string& permission,
                                const std::string& item_id) {
    av1::AccessQuestion question;
    question.mutable_subject()->set_organization_id(org_);
    question.mutable_subject()->set_kind(model::v1::SUBJECT_KIND_USER);
    question.mutable_subject()->set_id(user_id);
    question.set_permission(permission);
    question.set_item_id(item_id);
    return question;
  }

  av1::AccessQuestion AboutToken(const std::string& token,
                                 const std::string& permission,
                                 const std::string& item_id) {
    av1::AccessQuestion question;
    question.set_token(token);
    question.set_permission(permission);
    question.set_item_id(item_id);
    return question;
  }

  grpc::Status Check(const std::string& caller,
                     const av1::AccessQuestion& question,
                     av1::CheckResponse* response) {
    av1::CheckRequest request;
    *request.mutable_question() = question;
    auto context = server_.Context(caller);
    return stub_->Check(context.get(), request, response);
  }

  grpc::Status Explain(const std::string& caller,
                       const av1::AccessQuestion& question,
                       av1::ExplainResponse* response) {
    av1::ExplainRequest request;
    *request.mutable_question() = question;
    auto context = server_.Context(caller);
    return stub_->Explain(context.get(), request, response);
  }

  TestTokenService server_;
  std::unique_ptr<av1::AccessService::Stub> stub_;
  tokens::Caller admin_;
  std::string org_, viewer_id_, item_id_;
  std::string viewer_token_, service_token_, service_token_id_;
};

// A reviewer gets the reference decision with the revision it was made at.
TEST_F(AccessServiceTest, AdminChecksAnotherSubject) {
  av1::CheckResponse response;
  grpc::Status status =
      Check(server_.admin_token(),
            AboutUser(viewer_id_, "templates.view", item_id_), &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_TRUE(response.allowed());
  EXPECT_EQ(response.reason(), model::v1::DECISION_REASON_ALLOWED);
  EXPECT_EQ(response.revision(), server_.app().store().committed_revision());

  status = Check(server_.admin_token(),
                 AboutUser(viewer_id_, "templates.edit", item_id_), &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_FALSE(response.allowed());
  EXPECT_EQ(response.reason(), model::v1::DECISION_REASON_PERMISSION_MISSING);

  av1::ExplainResponse explained;
  status =
      Explain(server_.admin_token(),
              AboutUser(viewer_id_, "templates.view", item_id_), &explained);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_TRUE(explained.explanation().allowed());
  EXPECT_EQ(explained.explanation().subject().display_name(), "Vera Viewer");
  ASSERT_EQ(explained.explanation().grants_size(), 1);
  EXPECT_EQ(explained.explanation().grants(0).path(),
            model::v1::GRANT_PATH_DIRECT);
}

// Anyone may ask about themselves; asking about others needs
// platform.access_review; nobody may ask about another organization.
TEST_F(AccessServiceTest, CallersMayAskAboutThemselvesOnly) {
  av1::CheckResponse response;
  grpc::Status status =
      Check(viewer_token_, AboutUser(viewer_id_, "templates.view", item_id_),
            &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_TRUE(response.allowed());

  status =
      Check(viewer_token_,
            AboutToken(viewer_token_, "templates.view", item_id_), &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_TRUE(response.allowed());

  status =
      Check(viewer_token_, AboutUser(admin_.subject_id(), "platform.users", ""),
            &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_TRUE(
      absl::StrContains(status.error_message(), "platform.access_review"))
      << status.error_message();

  status =
      Check(viewer_token_,
            AboutToken(service_token_, "templates.view", item_id_), &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);

  av1::AccessQuestion foreign =
      AboutUser(ids::NewId(ids::kUser), "platform.users", "");
  foreign.mutable_subject()->set_organization_id(
      ids::NewId(ids::kOrganization));
  status = Check(server_.admin_token(), foreign, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_TRUE(absl::StrContains(status.error_message(), "own organization"))
      << status.error_message();
}

// Calls without a working credential are UNAUTHENTICATED, not denied.
TEST_F(AccessServiceTest, RejectsUnauthenticatedCallers) {
  av1::CheckResponse response;
  grpc::Status status =
      Check("", AboutUser(viewer_id_, "templates.view", item_id_), &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  status = Check("wdn_user_not-a-token",
                 AboutUser(viewer_id_, "templates.view", item_id_), &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  av1::ExplainResponse explained;
  status = Explain("", AboutUser(viewer_id_, "templates.view", item_id_),
                   &explained);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
}

// A service user's missing grant is explained with what to change; once its
// token is revoked, the token itself is the reason.
TEST_F(AccessServiceTest, ExplainsServiceUserTokens) {
  av1::ExplainResponse explained;
  grpc::Status status = Explain(
      server_.admin_token(),
      AboutToken(service_token_, "templates.view", item_id_), &explained);
  ASSERT_TRUE(status.ok()) << status.error_message();
  const model::v1::Explanation& e = explained.explanation();
  EXPECT_FALSE(e.allowed());
  EXPECT_EQ(e.reason(), model::v1::DECISION_REASON_NO_ACCESS);
  EXPECT_EQ(e.subject().kind(), model::v1::SUBJECT_KIND_SERVICE_USER);
  EXPECT_EQ(e.subject().token_id(), service_token_id_);
  EXPECT_TRUE(absl::StrContains(e.summary(), "service user 'Report export'"))
      << e.summary();
  EXPECT_TRUE(absl::StrContains(e.summary(),
                                "share the template with the service user"))
      << e.summary();

  auto revoked =
      server_.app().registry().RevokeToken(admin_, service_token_id_);
  ASSERT_TRUE(revoked.ok()) << revoked.status();
  av1::CheckResponse checked;
  status =
      Check(server_.admin_token(),
            AboutToken(service_token_, "templates.view", item_id_), &checked);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_FALSE(checked.allowed());
  EXPECT_EQ(checked.reason(), model::v1::DECISION_REASON_SUBJECT_INACTIVE);
  EXPECT_EQ(checked.auth_failure(), model::v1::AUTH_FAILURE_REVOKED);
  status = Explain(server_.admin_token(),
                   AboutToken(service_token_, "templates.view", item_id_),
                   &explained);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(explained.explanation().reason(),
            model::v1::DECISION_REASON_SUBJECT_INACTIVE);
  EXPECT_TRUE(absl::StrContains(explained.explanation().summary(), "revoked"));
}

// Malformed questions get INVALID_ARGUMENT saying what to fix.
TEST_F(AccessServiceTest, RejectsBadQuestions) {
  struct Case {
    std::string name;
    av1::AccessQuestion question;
    std::string message;
  };
  av1::AccessQuestion no_subject;
  no_subject.set_permission("templates.view");
  no_subject.set_item_id(item_id_);
  av1::AccessQuestion no_kind = AboutUser(viewer_id_, "platform.users", "");
  no_kind.mutable_subject()->clear_kind();
  const Case cases[] = {
      {"unknown permission", AboutUser(viewer_id_, "templates.fly", item_id_),
       "not in the permission catalog"},
      {"malformed item id", AboutUser(viewer_id_, "templates.view", "item_1"),
       "item_id must look like"},
      {"item id missing", AboutUser(viewer_id_, "templates.view", ""),
       "item_id is required"},
      {"malformed user id", AboutUser("usr_1", "platform.users", ""),
       "question.subject.id"},
      {"kind missing", no_kind, "question.subject.kind"},
      {"no subject", no_subject, "question must name its subject"},
      {"empty token", AboutToken("", "platform.users", ""), "question.token"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    av1::CheckResponse response;
    grpc::Status status = Check(server_.admin_token(), c.question, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_TRUE(absl::StrContains(status.error_message(), c.message))
        << status.error_message();
    av1::ExplainResponse explained;
    status = Explain(server_.admin_token(), c.question, &explained);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  }
}

}  // namespace
}  // namespace warden::testing
