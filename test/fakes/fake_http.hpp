// An HTTP transport for in-process tests of the adapters that speak HTTP (the VyOS API): every
// request is recorded, and a test-supplied responder answers it (status and body), or fails it
// like the network would - before the request was written (connection refused) or after
// (a timeout: the write may have been applied).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "transport/http/https_client.hpp"

namespace nc::fakes {

struct FakeHttpRequest {
  std::string method, target, content_type, body;
};

/// What the responder decides for one request.
struct FakeHttpAnswer {
  int status = 200;
  std::string body;
  std::optional<Error> error;  // the request fails with this instead
  bool written = true;         // with `error`: whether the request reached the device
};

class FakeHttp final : public transport::HttpTransport {
 public:
  using Responder = std::function<FakeHttpAnswer(const FakeHttpRequest&)>;
  FakeHttp(Responder respond, std::vector<FakeHttpRequest>* log)
      : respond_(std::move(respond)), log_(log) {}

  Result<transport::HttpResponse> Send(const std::string& method, const std::string& target,
                                       const std::string& content_type, const std::string& body,
                                       std::chrono::milliseconds, bool* written, bool) override {
    FakeHttpRequest req{method, target, content_type, body};
    log_->push_back(req);
    FakeHttpAnswer a = respond_(req);
    if (written) *written = a.error ? a.written : true;
    if (a.error) return tl::unexpected(*a.error);
    transport::HttpResponse r;
    r.status = a.status;
    r.body = std::move(a.body);
    return r;
  }
  Result<int> Stream(const std::string&, std::chrono::milliseconds,
                     const std::function<bool(std::string_view)>&) override {
    return MakeError(ErrorCode::kFailedPrecondition, "fake: no streams");
  }
  void Cancel() override {}

 private:
  Responder respond_;
  std::vector<FakeHttpRequest>* log_;
};

}  // namespace nc::fakes
