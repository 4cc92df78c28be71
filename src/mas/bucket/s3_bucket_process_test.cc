// S3Bucket against a real S3-compatible server: s3rver (the npm package), started on a free
// loopback port with its own temporary directory. The path of the s3rver executable is the
// first argument.
//
// s3rver checks that the access key id exists but does not verify SigV4 signatures, and it
// does not implement AbortMultipartUpload (it answers MethodNotAllowed): signatures are
// covered by sigv4_test.cc against AWS's published examples, and here an aborted upload is
// checked by what is visible (no object) and by the abort being reported.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>
#include <regex>
#include <thread>

#include "common/testing/temp_dir.h"
#include "mas/bucket/bucket.h"
#include "mas/bucket/s3_bucket.h"

namespace grid::mas::bucket {
namespace {

namespace fs = std::filesystem;

std::string g_s3rver_path;
constexpr char kBucket[] = "backups";
constexpr auto kStartDeadline = std::chrono::seconds(30);

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void WriteAll(const std::string& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary);
  out << data;
}

std::string RandomBytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string out(n, '\0');
  for (auto& c : out) c = static_cast<char>(rng());
  return out;
}

// One s3rver process serving `data_dir` with the bucket kBucket; killed on destruction.
class S3rver {
 public:
  S3rver(const std::string& data_dir, const std::string& log_path) {
    fs::create_directories(data_dir);
    pid_ = fork();
    GRID_CHECK(pid_ >= 0);
    if (pid_ == 0) {
      int fd = open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      dup2(fd, 1);
      dup2(fd, 2);
      // s3rver's continuation tokens are DES-encrypted, which OpenSSL 3 keeps in its legacy
      // provider.
      setenv("NODE_OPTIONS", "--openssl-legacy-provider", 1);
      execl(g_s3rver_path.c_str(), g_s3rver_path.c_str(), "-d", data_dir.c_str(), "-a",
            "127.0.0.1", "-p", "0", "--silent", "--configure-bucket", kBucket,
            static_cast<char*>(nullptr));
      _exit(127);
    }
    // It prints "S3rver listening on 127.0.0.1:PORT" once it serves.
    const std::regex listening("listening on 127\\.0\\.0\\.1:([0-9]+)");
    auto deadline = std::chrono::steady_clock::now() + kStartDeadline;
    while (std::chrono::steady_clock::now() < deadline) {
      std::smatch m;
      std::string log = ReadAll(log_path);
      if (std::regex_search(log, m, listening)) {
        port_ = std::stoi(m[1]);
        return;
      }
      int status = 0;
      GRID_CHECK(waitpid(pid_, &status, WNOHANG) == 0) << "s3rver exited: " << log;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    GRID_CHECK(false) << "s3rver did not start: " << ReadAll(log_path);
  }
  ~S3rver() { Kill(); }

  void Kill() {
    if (pid_ <= 0) return;
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }

 private:
  pid_t pid_ = -1;
  int port_ = 0;
};

class S3BucketProcessTest : public ::testing::Test {
 protected:
  void SetUp() override { server_ = std::make_unique<S3rver>(DataDir(), LogPath()); }

  std::string DataDir() { return dir_.path() + "/s3rver"; }
  // A new log per start, so a start never reads the port of the previous one.
  std::string LogPath() { return dir_.path() + "/s3rver." + std::to_string(starts_++) + ".log"; }
  std::string Local(const std::string& name) { return dir_.path() + "/" + name; }

  S3Options Options() {
    S3Options o;
    o.endpoint = server_->endpoint();
    o.access_key_id = "S3RVER";  // s3rver's built-in account
    o.secret_access_key = "S3RVER";
    o.part_size_bytes = kMinPartSizeBytes;
    return o;
  }
  std::unique_ptr<S3Bucket> Open(const std::string& url, S3Options options) {
    auto b = S3Bucket::Open(url, options);
    GRID_CHECK(b.ok()) << b.status().ToString();
    return std::move(b).value();
  }
  std::unique_ptr<S3Bucket> Open() { return Open("s3://backups/grid/main", Options()); }

  grid::testing::TempDir dir_{"bucket_s3"};
  int starts_ = 0;
  std::unique_ptr<S3rver> server_;
};

std::vector<std::string> Keys(const std::vector<ObjectInfo>& objects) {
  std::vector<std::string> out;
  for (const auto& o : objects) out.push_back(o.key);
  return out;
}

TEST_F(S3BucketProcessTest, PutGetListDeleteRoundTrip) {
  auto b = Open();
  const std::string data = RandomBytes(1 << 20, 1);
  WriteAll(Local("src"), data);
  ASSERT_TRUE(b->PutFile("2024/snap db+1.bin", Local("src")).ok());
  ASSERT_TRUE(b->PutBytes("2024/meta.json", "{\"revision\":7}").ok());
  ASSERT_TRUE(b->PutBytes("empty", "").ok());

  ASSERT_TRUE(b->GetFile("2024/snap db+1.bin", Local("dst")).ok());
  EXPECT_EQ(ReadAll(Local("dst")), data);
  EXPECT_EQ(b->GetBytes("2024/meta.json").value(), "{\"revision\":7}");
  EXPECT_EQ(b->GetBytes("empty").value(), "");

  auto all = b->List("");
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  EXPECT_EQ(Keys(*all), (std::vector<std::string>{"2024/meta.json", "2024/snap db+1.bin", "empty"}));
  EXPECT_EQ((*all)[1].size_bytes, 1 << 20);
  EXPECT_FALSE((*all)[1].etag.empty());
  EXPECT_GT((*all)[1].modified.time_since_epoch().count(), 0);
  EXPECT_EQ(Keys(b->List("2024/m").value()), std::vector<std::string>{"2024/meta.json"});

  // Keys are relative to the URL's prefix: the bucket root sees them under grid/main/.
  auto root = Open("s3://backups", Options());
  EXPECT_EQ(Keys(root->List("grid/").value()),
            (std::vector<std::string>{"grid/main/2024/meta.json", "grid/main/2024/snap db+1.bin",
                                      "grid/main/empty"}));

  ASSERT_TRUE(b->Delete("2024/snap db+1.bin").ok());
  EXPECT_EQ(Keys(b->List("").value()), (std::vector<std::string>{"2024/meta.json", "empty"}));
}

TEST_F(S3BucketProcessTest, ListFollowsContinuationTokens) {
  S3Options o = Options();
  o.list_page_keys = 2;
  auto b = Open("s3://backups/p", o);
  for (const char* k : {"e", "a", "d", "b/1", "c"}) ASSERT_TRUE(b->PutBytes(k, k).ok()) << k;
  ASSERT_TRUE(Open("s3://backups", Options())->PutBytes("outside", "x").ok());
  auto all = b->List("");
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  EXPECT_EQ(Keys(*all), (std::vector<std::string>{"a", "b/1", "c", "d", "e"}));
}

TEST_F(S3BucketProcessTest, ListLimitIsExact) {
  S3Options o = Options();
  o.list_page_keys = 2;
  o.max_listed_objects = 3;
  auto b = Open("s3://backups/p", o);
  for (const char* k : {"1", "2", "3"}) ASSERT_TRUE(b->PutBytes(k, k).ok()) << k;
  EXPECT_EQ(b->List("").value().size(), 3u);
  ASSERT_TRUE(b->PutBytes("4", "4").ok());
  Status s = b->List("").status();
  EXPECT_EQ(s.code(), Code::kResourceExhausted) << s.ToString();
  EXPECT_EQ(b->List("4").value().size(), 1u);
}

TEST_F(S3BucketProcessTest, InMemoryLimitIsExact) {
  auto b = Open();
  std::string at_limit(static_cast<size_t>(kMaxInMemoryObjectBytes), 'm');
  ASSERT_TRUE(b->PutBytes("meta", at_limit).ok());
  auto got = b->GetBytes("meta");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_TRUE(*got == at_limit);
  at_limit.push_back('m');
  EXPECT_EQ(b->PutBytes("over", at_limit).code(), Code::kResourceExhausted);
  // A file may be larger; GetBytes refuses it.
  WriteAll(Local("over"), at_limit);
  ASSERT_TRUE(b->PutFile("over", Local("over")).ok());
  EXPECT_EQ(b->GetBytes("over").status().code(), Code::kResourceExhausted);
}

TEST_F(S3BucketProcessTest, LargeFileGoesUpInPartsAndReadsBackIdentical) {
  auto b = Open();
  const std::string data = RandomBytes(12 << 20, 2);  // 5 + 5 + 2 MiB
  WriteAll(Local("big"), data);
  std::vector<int> parts;
  b->set_after_part_hook([&](int part) {
    parts.push_back(part);
    return Status::Ok();
  });
  Status put = b->PutFile("big.db", Local("big"));
  ASSERT_TRUE(put.ok()) << put.ToString();
  EXPECT_EQ(parts, (std::vector<int>{1, 2, 3}));
  ASSERT_TRUE(b->GetFile("big.db", Local("big.back")).ok());
  EXPECT_TRUE(ReadAll(Local("big.back")) == data) << "multipart object differs";
  auto listed = b->List("big").value();
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].size_bytes, 12 << 20);

  // A file of exactly one part goes up as a single PutObject.
  parts.clear();
  WriteAll(Local("one"), data.substr(0, static_cast<size_t>(kMinPartSizeBytes)));
  ASSERT_TRUE(b->PutFile("one.db", Local("one")).ok());
  EXPECT_TRUE(parts.empty());
  ASSERT_TRUE(b->GetFile("one.db", Local("one.back")).ok());
  EXPECT_EQ(ReadAll(Local("one.back")).size(), static_cast<size_t>(kMinPartSizeBytes));
}

TEST_F(S3BucketProcessTest, FailureAfterFirstPartLeavesNoObjectAndAborts) {
  auto b = Open();
  WriteAll(Local("big"), RandomBytes(12 << 20, 3));
  b->set_after_part_hook([](int part) {
    return part == 1 ? Internal("injected failure after part 1") : Status::Ok();
  });
  Status put = b->PutFile("big.db", Local("big"));
  EXPECT_EQ(put.code(), Code::kInternal) << put.ToString();
  EXPECT_NE(put.message().find("injected failure"), std::string::npos) << put.message();
  // The abort was sent; s3rver does not implement it and answers MethodNotAllowed.
  EXPECT_NE(put.message().find("abort"), std::string::npos) << put.message();
  EXPECT_TRUE(b->List("").value().empty());
  EXPECT_EQ(b->GetFile("big.db", Local("x")).code(), Code::kNotFound);
  EXPECT_FALSE(fs::exists(Local("x")));
}

TEST_F(S3BucketProcessTest, ServerKilledMidUploadLeavesNoObject) {
  auto b = Open();
  WriteAll(Local("big"), RandomBytes(12 << 20, 4));
  b->set_after_part_hook([this](int part) {
    if (part == 1) server_->Kill();
    return Status::Ok();
  });
  Status put = b->PutFile("big.db", Local("big"));
  EXPECT_EQ(put.code(), Code::kUnavailable) << put.ToString();
  EXPECT_NE(put.message().find("aborting the upload failed"), std::string::npos) << put.message();

  // The server comes back on the same data: nothing was completed.
  server_ = std::make_unique<S3rver>(DataDir(), LogPath());
  auto again = Open();
  auto listed = again->List("");
  ASSERT_TRUE(listed.ok()) << listed.status().ToString();
  EXPECT_TRUE(listed->empty());
  EXPECT_EQ(again->GetBytes("big.db").status().code(), Code::kNotFound);
}

TEST_F(S3BucketProcessTest, MissingKeysAndBucket) {
  auto b = Open();
  Status get = b->GetFile("absent", Local("absent"));
  EXPECT_EQ(get.code(), Code::kNotFound) << get.ToString();
  EXPECT_NE(get.message().find("NoSuchKey"), std::string::npos) << get.message();
  EXPECT_FALSE(fs::exists(Local("absent")));
  EXPECT_EQ(b->GetBytes("absent").status().code(), Code::kNotFound);
  EXPECT_EQ(b->Delete("absent").code(), Code::kNotFound);
  EXPECT_TRUE(b->List("absent").value().empty());

  auto nobucket = Open("s3://no-such-bucket", Options());
  Status s = nobucket->PutBytes("k", "v");
  EXPECT_EQ(s.code(), Code::kFailedPrecondition) << s.ToString();
  EXPECT_NE(s.message().find("NoSuchBucket"), std::string::npos) << s.message();
}

TEST_F(S3BucketProcessTest, UnknownAccessKeyIsPermissionDenied) {
  S3Options o = Options();
  o.access_key_id = "NOT-A-KEY";
  auto b = Open("s3://backups", o);
  Status s = b->PutBytes("k", "v");
  EXPECT_EQ(s.code(), Code::kPermissionDenied) << s.ToString();
  EXPECT_NE(s.message().find("InvalidAccessKeyId"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("s3://backups"), std::string::npos) << s.message();
  EXPECT_EQ(b->List("").status().code(), Code::kPermissionDenied);
}

}  // namespace
}  // namespace grid::mas::bucket

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  if (argc < 2) {
    fprintf(stderr, "usage: %s /path/to/s3rver [gtest flags]\n", argv[0]);
    return 2;
  }
  grid::mas::bucket::g_s3rver_path = argv[1];
  return RUN_ALL_TESTS();
}
