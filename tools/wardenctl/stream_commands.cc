// wardenctl watch: follow TokenService's change stream, one line per
// committed change.

#include <cstdint>
#include <iostream>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "tools/wardenctl/output.h"
#include "tools/wardenctl/session.h"
#include "warden/changes/v1/change_stream_service.grpc.pb.h"
#include "warden/model/v1/model.pb.h"

namespace warden::wardenctl {
namespace {

using changes::v1::ChangeStreamService;

struct WatchFlags {
  int64_t from = 0;
  int64_t until = 0;
  std::string follower_name = "wardenctl";
};

// "token tok_..." for a record: its kind (the oneof case) and its id, or
// for a membership the group or site and the user.
std::string DescribeRecord(const model::v1::Record& record) {
  const auto* oneof = record.GetDescriptor()->FindOneofByName("record");
  const auto* field =
      record.GetReflection()->GetOneofFieldDescriptor(record, oneof);
  if (field == nullptr) return "(empty record)";
  const auto& message = record.GetReflection()->GetMessage(record, field);
  const auto* reflection = message.GetReflection();
  const auto* type = message.GetDescriptor();
  std::string described = field->name();
  // Records with an id show it; memberships, which have none, show the
  // group or site and the user.
  const bool has_id = type->FindFieldByName("id") != nullptr;
  for (const char* id_field : {"id", "group_id", "site_id", "user_id"}) {
    const auto* id = type->FindFieldByName(id_field);
    if (id == nullptr || (has_id && std::string(id_field) != "id")) continue;
    absl::StrAppend(&described, " ", reflection->GetString(message, id));
  }
  return described;
}

void PrintChange(const model::v1::ChangeRecord& change) {
  std::string line =
      absl::StrCat(change.revision(), "  ",
                   FormatTime(change.committed_at(), change.has_committed_at()),
                   "  ", change.action());
  for (const auto& one : change.changes()) {
    absl::StrAppend(
        &line, "  ",
        EnumLabel(model::v1::ChangeOperation_descriptor(), one.operation()),
        " ", DescribeRecord(one.record()));
  }
  std::cout << line << std::endl;  // flushed: a follower reads it live
}

int Watch(Session& session, const WatchFlags& flags) {
  if (flags.from < 0 || (flags.until > 0 && flags.until <= flags.from)) {
    std::cerr << "error: --from must be >= 0 and --until, when set, above "
                 "--from\n";
    return kExitUsage;
  }
  int exit_code = kExitOk;
  auto context = session.NewContext(&exit_code, /*streaming=*/true);
  if (context == nullptr) return exit_code;
  auto stub = ChangeStreamService::NewStub(session.channel());
  changes::v1::WatchRequest request;
  request.set_after_revision(flags.from);
  request.set_follower_name(flags.follower_name);
  auto reader = stub->Watch(context.get(), request);

  changes::v1::WatchResponse response;
  bool reached_until = false;
  while (!reached_until && reader->Read(&response)) {
    for (const auto& change : response.changes()) {
      if (session.json()) {
        PrintJson(change, /*compact=*/true);
        std::cout.flush();
      } else {
        PrintChange(change);
      }
      if (flags.until > 0 && change.revision() >= flags.until) {
        reached_until = true;
        break;
      }
    }
    // A progress message means every change up to committed_revision was
    // sent; an --until already covered by it never comes as a change.
    if (flags.until > 0 && response.changes().empty() &&
        response.committed_revision() >= flags.until) {
      reached_until = true;
    }
  }
  if (reached_until) {
    context->TryCancel();
    reader->Finish();
    return kExitOk;
  }
  grpc::Status status = reader->Finish();
  if (!status.ok()) {
    if (status.error_code() == grpc::StatusCode::OUT_OF_RANGE) {
      Notice(
          "the changes after --from are no longer kept (or --from is "
          "above every committed revision); start from a newer "
          "revision");
    }
    return session.Fail(status, context.get());
  }
  return kExitOk;
}

}  // namespace

void AddStreamCommands(CLI::App& app, Action* action) {
  auto flags = std::make_shared<WatchFlags>();
  auto* watch = app.add_subcommand(
      "watch",
      "Follow the change stream: one line per committed change (one JSON "
      "ChangeRecord per line with --json). Needs platform.replication, "
      "which the bootstrap sidecar credential has");
  watch
      ->add_option("--from", flags->from,
                   "Print changes after this revision (0: from the first "
                   "one still kept)")
      ->required();
  watch->add_option("--until", flags->until,
                    "Stop once every change up to this revision was printed "
                    "(default: follow until interrupted)");
  watch
      ->add_option("--follower-name", flags->follower_name,
                   "Name shown in TokenService's logs")
      ->capture_default_str();
  watch->callback([=] {
    *action = [=](Session& session) { return Watch(session, *flags); };
  });
}

}  // namespace warden::wardenctl
