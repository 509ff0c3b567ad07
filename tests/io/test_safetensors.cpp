// test_safetensors.cpp — the safetensors reader and writers: header parsing, bit-identical round
// trips (single file and sharded), atomic output, and an independent reader (Python, stdlib).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <numeric>
#include <set>

#include "io_helpers.h"
#include "util/check.h"
#include "util/strings.h"

namespace llamapro::testing {
namespace {

// A set of tensors of several dtypes and odd sizes, with their bytes.
struct Sample {
  std::vector<TensorSpec> specs;
  std::vector<std::string> bytes;
  std::vector<const void*> pointers() const {
    std::vector<const void*> p;
    for (const auto& b : bytes) p.push_back(b.data());
    return p;
  }
};

Sample sample_tensors() {
  Sample s;
  auto add = [&](std::string name, DType t, std::vector<int64_t> shape) {
    TensorSpec spec{name, t, shape};
    std::string b(spec.nbytes(), '\0');
    for (size_t i = 0; i < b.size(); i++) b[i] = static_cast<char>((i * 131 + name.size() * 7) & 0xFF);
    s.specs.push_back(spec);
    s.bytes.push_back(b);
  };
  add("model.embed_tokens.weight", DType::F32, {7, 5});
  add("b.bf16", DType::BF16, {3, 3});
  add("c.f16", DType::F16, {5});
  add("d.empty", DType::F32, {0, 4});
  add("e.scalar", DType::I64, {});
  add("f.bytes", DType::U8, {3});  // leaves the data area unaligned for what follows
  add("g.\"quoted\" name/ü", DType::F64, {2});
  return s;
}

uint64_t header_length(const std::string& file) {
  uint64_t n = 0;
  for (int i = 7; i >= 0; i--) n = (n << 8) | static_cast<uint8_t>(file[i]);
  return n;
}

TEST(SafetensorsHeader, ParsesHandBuiltHeader) {
  std::string text =
      R"({"__metadata__":{"format":"pt","note":"x"},"w":{"dtype":"F32","shape":[2,3],"data_offsets":[8,32]},)"
      R"("a":{"dtype":"BF16","shape":[4],"data_offsets":[0,8]}})";
  std::string file = join_safetensors(text, std::string(32, 'x'));
  SafetensorsHeader h = parse_safetensors_header(reinterpret_cast<const uint8_t*>(file.data()), file.size(), "mem");
  EXPECT_EQ(h.data_offset, 8 + text.size());
  ASSERT_EQ(h.tensors.size(), 2u);
  EXPECT_EQ(h.tensors[0].name, "a");  // sorted by position in the data area
  EXPECT_EQ(h.tensors[0].dtype, DType::BF16);
  EXPECT_EQ(h.tensors[1].name, "w");
  EXPECT_EQ(h.tensors[1].shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(h.tensors[1].begin, 8u);
  EXPECT_EQ(h.tensors[1].end, 32u);
  EXPECT_EQ(h.tensors[1].numel(), 6);
  EXPECT_EQ(h.tensors[1].shape_str(), "[2, 3]");
  EXPECT_EQ(h.metadata.at("format"), "pt");
  EXPECT_EQ(h.metadata.at("note"), "x");
}

TEST(SafetensorsHeader, RejectsMalformedHeadersWithNamedErrors) {
  auto parse = [](const std::string& text, size_t data_bytes) {
    std::string file = join_safetensors(text, std::string(data_bytes, '\0'));
    return parse_safetensors_header(reinterpret_cast<const uint8_t*>(file.data()), file.size(), "f.safetensors");
  };
  auto message = [&](const std::string& text, size_t data_bytes) -> std::string {
    try {
      parse(text, data_bytes);
    } catch (const Error& e) {
      return e.what();
    }
    return "<accepted>";
  };
  auto entry = [](const std::string& dtype, const std::string& shape, const std::string& offs) {
    return R"({"t":{"dtype":)" + dtype + R"(,"shape":)" + shape + R"(,"data_offsets":)" + offs + "}}";
  };
  EXPECT_NE(message("{not json", 0).find("invalid JSON"), std::string::npos);
  EXPECT_NE(message("[1,2]", 0).find("not a JSON object"), std::string::npos);
  EXPECT_NE(message(entry(R"("F33")", "[1]", "[0,4]"), 4).find("unknown dtype"), std::string::npos);
  EXPECT_NE(message(entry("4", "[1]", "[0,4]"), 4).find("dtype"), std::string::npos);
  EXPECT_NE(message(entry(R"("F32")", "[-1]", "[0,4]"), 4).find("non-negative"), std::string::npos);
  EXPECT_NE(message(entry(R"("F32")", "[1.5]", "[0,4]"), 4).find("non-negative"), std::string::npos);
  EXPECT_NE(message(entry(R"("F32")", "3", "[0,4]"), 4).find("shape"), std::string::npos);
  EXPECT_NE(message(entry(R"("F32")", "[2]", "[0,4]"), 4).find("need 8"), std::string::npos);
  EXPECT_NE(message(entry(R"("F32")", "[1]", "[4,0]"), 4).find("reversed"), std::string::npos);
  EXPECT_NE(message(entry(R"("F32")", "[1]", "[4,8]"), 4).find("past the data area"), std::string::npos);
  EXPECT_NE(message(entry(R"("F32")", "[1]", "[0]"), 4).find("data_offsets"), std::string::npos);
  EXPECT_NE(message(entry(R"("F32")", "[1]", "[-4,0]"), 4).find("data_offsets"), std::string::npos);
  EXPECT_NE(message(entry(R"("F32")", "[4294967296,4294967296,4294967296]", "[0,4]"), 4).find("overflows"),
            std::string::npos);
  // A zero dimension after huge ones must not let numel() overflow.
  EXPECT_NE(message(entry(R"("U8")", "[9223372036854775807,2,0]", "[0,0]"), 0).find("overflows"), std::string::npos);
  EXPECT_NE(message(entry(R"("F32")", "[1]", "[0,1e999]"), 4).find("invalid JSON"), std::string::npos);
  EXPECT_NE(message(R"({"t":5})", 0).find("not an object"), std::string::npos);
  EXPECT_NE(message(R"({"__metadata__":{"k":1}})", 0).find("not a string"), std::string::npos);
  EXPECT_NE(message(R"({"__metadata__":[]})", 0).find("__metadata__"), std::string::npos);
  EXPECT_NE(message(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                    R"("b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", 8).find("overlap"),
            std::string::npos);
  // Zero-size tensors may sit anywhere, even inside another tensor's range.
  EXPECT_EQ(message(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                    R"("b":{"dtype":"F32","shape":[0],"data_offsets":[4,4]}})", 8),
            "<accepted>");
  // ...but must not hide an overlap of the tensors around them.
  EXPECT_NE(message(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                    R"("z":{"dtype":"F32","shape":[0],"data_offsets":[6,6]},)"
                    R"("b":{"dtype":"U8","shape":[2],"data_offsets":[6,8]}})", 8).find("overlap"),
            std::string::npos);
}

TEST(SafetensorsHeader, RejectsBadLengths) {
  auto message = [](const std::string& file) -> std::string {
    try {
      parse_safetensors_header(reinterpret_cast<const uint8_t*>(file.data()), file.size(), "f");
    } catch (const Error& e) {
      return e.what();
    }
    return "<accepted>";
  };
  EXPECT_NE(message(std::string(5, '\0')).find("need at least 8"), std::string::npos);
  std::string huge(16, '\0');
  huge[5] = 1;  // 2^40
  EXPECT_NE(message(huge).find("exceeds"), std::string::npos);
  std::string past = join_safetensors("{}", "");
  past[0] = 3;  // claims 3 header bytes, has 2
  EXPECT_NE(message(past).find("past the end"), std::string::npos);
  EXPECT_EQ(message(join_safetensors("{}", "")), "<accepted>");
}

TEST(SafetensorsWriter, HeaderIsAlignedOrderedAndTaggedPt) {
  Sample s = sample_tensors();
  std::string h = make_safetensors_header(s.specs, {{"format", "pt"}});
  EXPECT_EQ(h.size() % 8, 0u) << "data area must start 8-byte aligned";
  EXPECT_EQ(header_length(h), h.size() - 8);
  std::string text = h.substr(8);
  EXPECT_EQ(text.rfind(R"({"__metadata__":{"format":"pt"})", 0), 0u) << text;
  json j = json::parse(text);  // trailing padding is whitespace
  std::vector<std::string> keys;
  for (const auto& [k, v] : j.items()) keys.push_back(k);
  ASSERT_EQ(keys.size(), s.specs.size() + 1);
  uint64_t offset = 0;
  for (size_t i = 0; i < s.specs.size(); i++) {
    EXPECT_EQ(keys[i + 1], s.specs[i].name) << "declaration order kept";
    EXPECT_EQ(j[s.specs[i].name]["data_offsets"][0].get<uint64_t>(), offset);
    offset += s.specs[i].nbytes();
    EXPECT_EQ(j[s.specs[i].name]["data_offsets"][1].get<uint64_t>(), offset);
  }
  EXPECT_THROW(make_safetensors_header({{"__metadata__", DType::F32, {1}}}, {}), Error);
}

TEST(SafetensorsWriter, WriteReadWriteIsBitIdentical) {
  TempDir tmp;
  Sample s = sample_tensors();
  write_safetensors(tmp.path() / "a.safetensors", s.specs, s.pointers());
  SafetensorsFile a(tmp.path() / "a.safetensors");
  EXPECT_EQ(a.metadata().at("format"), "pt");
  ASSERT_EQ(a.tensors().size(), s.specs.size());
  std::vector<TensorSpec> specs;
  std::vector<const void*> data;
  for (size_t i = 0; i < s.specs.size(); i++) {
    const TensorInfo* t = a.find(s.specs[i].name);
    ASSERT_NE(t, nullptr) << s.specs[i].name;
    EXPECT_EQ(t->dtype, s.specs[i].dtype);
    EXPECT_EQ(t->shape, s.specs[i].shape);
    ASSERT_EQ(t->nbytes(), s.bytes[i].size());
    EXPECT_EQ(std::memcmp(a.data(*t), s.bytes[i].data(), t->nbytes()), 0) << t->name;
    specs.push_back({t->name, t->dtype, t->shape});
    data.push_back(a.data(*t));
  }
  EXPECT_EQ(a.find("absent"), nullptr);
  write_safetensors(tmp.path() / "b.safetensors", specs, data);
  EXPECT_EQ(read_bytes(tmp.path() / "a.safetensors"), read_bytes(tmp.path() / "b.safetensors"));
  EXPECT_EQ(header_length(read_bytes(tmp.path() / "a.safetensors")) % 8, 0u);
}

TEST(SafetensorsWriter, StreamingPiecesGiveTheSameFile) {
  TempDir tmp;
  Sample s = sample_tensors();
  // One tensor beyond the 8 MiB write buffer, so the direct path is exercised too.
  TensorSpec big{"z.big", DType::F32, {int64_t(3) << 20}};
  std::string big_bytes(big.nbytes(), '\0');
  for (size_t i = 0; i < big_bytes.size(); i++) big_bytes[i] = static_cast<char>(i * 2654435761u >> 24);
  s.specs.push_back(big);
  s.bytes.push_back(big_bytes);
  write_safetensors(tmp.path() / "whole.safetensors", s.specs, s.pointers());

  std::string all;
  for (const auto& b : s.bytes) all += b;
  SafetensorsWriter w(tmp.path() / "pieces.safetensors", s.specs);
  EXPECT_EQ(w.bytes_expected(), all.size());
  size_t pos = 0, step = 1;
  while (pos < all.size()) {  // piece sizes 1, 3, 9, ... crossing tensor boundaries
    size_t n = std::min(step, all.size() - pos);
    w.append(all.data() + pos, n);
    pos += n;
    step = step * 3 + 1;
  }
  w.finish();
  EXPECT_EQ(read_bytes(tmp.path() / "whole.safetensors"), read_bytes(tmp.path() / "pieces.safetensors"));
}

TEST(SafetensorsWriter, UnfinishedWriterLeavesNoFile) {
  TempDir tmp;
  Sample s = sample_tensors();
  const fs::path target = tmp.path() / "out.safetensors";
  {
    SafetensorsWriter w(target, s.specs);
    w.append(s.bytes[0].data(), s.bytes[0].size());
    // destroyed without finish(): an interrupted run
  }
  EXPECT_FALSE(fs::exists(target));
  EXPECT_TRUE(fs::is_empty(tmp.path())) << "temporary sibling left behind";

  // finish() with bytes missing refuses and leaves nothing; an existing file stays as it was.
  write_bytes(target, "old contents");
  {
    SafetensorsWriter w(target, s.specs);
    w.append(s.bytes[0].data(), s.bytes[0].size());
    EXPECT_THROW(w.finish(), Error);
    EXPECT_EQ(read_bytes(target), "old contents");
  }
  EXPECT_EQ(read_bytes(target), "old contents");
  EXPECT_EQ(std::distance(fs::directory_iterator(tmp.path()), fs::directory_iterator()), 1);

  SafetensorsWriter w(tmp.path() / "x.safetensors", {{"t", DType::F32, {1}}});
  char five[5] = {};
  EXPECT_THROW(w.append(five, 5), Error) << "more bytes than declared";
}

// ---------------------------------------------------------------------------------------------
// An independent reader: tests/io/read_safetensors.py, from the spec, stdlib only.

bool have_python() { return std::system("python3 -c 'import json, struct' >/dev/null 2>&1") == 0; }

CliResult run_python_reader(const std::vector<fs::path>& files) {
  TempDir tmp;
  std::string cmd = std::string("python3 ") + LP_IO_TEST_DIR + "/read_safetensors.py";
  for (const auto& f : files) cmd += " '" + f.string() + "'";
  cmd += " >" + tmp.str("out") + " 2>" + tmp.str("err");
  int raw = std::system(cmd.c_str());
  CliResult r;
  r.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : 128 + WTERMSIG(raw);
  r.out = read_text(tmp.str("out"));
  r.err = read_text(tmp.str("err"));
  return r;
}

// What read_safetensors.py prints for a file, computed by our own reader.
std::string our_listing(const fs::path& file) {
  SafetensorsFile f(file);
  std::map<std::string, std::string> lines;
  for (const auto& t : f.tensors()) {
    std::string dims;
    for (size_t i = 0; i < t.shape.size(); i++) {
      if (i) dims += ",";
      dims += std::to_string(t.shape[i]);
    }
    char hash[17];
    std::snprintf(hash, sizeof hash, "%016llx", static_cast<unsigned long long>(fnv1a(f.data(t), t.nbytes())));
    lines[t.name] = "tensor " + t.name + " " + std::string(dtype_name(t.dtype)) + " [" + dims + "] " + hash + "\n";
  }
  std::string out;
  for (const auto& [name, line] : lines) out += line;
  for (const auto& [k, v] : f.metadata()) out += "metadata " + k + " " + v + "\n";
  return out;
}

TEST(SafetensorsInterop, IndependentReaderLoadsOurFiles) {
  if (!have_python()) GTEST_SKIP() << "python3 not available: independent reader not run";
  TempDir tmp;
  Sample s = sample_tensors();
  write_safetensors(tmp.path() / "ours.safetensors", s.specs, s.pointers());
  CliResult r = run_python_reader({tmp.path() / "ours.safetensors"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, our_listing(tmp.path() / "ours.safetensors"));
  // Names, dtypes and shapes as written, not only as our reader sees them.
  for (size_t i = 0; i < s.specs.size(); i++) {
    char hash[17];
    std::snprintf(hash, sizeof hash, "%016llx",
                  static_cast<unsigned long long>(fnv1a(reinterpret_cast<const uint8_t*>(s.bytes[i].data()), s.bytes[i].size())));
    EXPECT_NE(r.out.find("tensor " + s.specs[i].name + " " + std::string(dtype_name(s.specs[i].dtype))), std::string::npos);
    EXPECT_NE(r.out.find(hash), std::string::npos) << s.specs[i].name;
  }
  EXPECT_NE(r.out.find("metadata format pt"), std::string::npos);

  // The independent reader is strict: it rejects a file whose ranges leave a gap.
  RawSafetensors raw = split_safetensors(read_bytes(tmp.path() / "ours.safetensors"));
  raw.data += "gap!";
  write_bytes(tmp.path() / "gap.safetensors", join_safetensors(raw));
  EXPECT_EQ(run_python_reader({tmp.path() / "gap.safetensors"}).status, 1);
}

TEST(SafetensorsInterop, IndependentReaderLoadsOurShards) {
  if (!have_python()) GTEST_SKIP() << "python3 not available: independent reader not run";
  TempDir tmp;
  write_model(tmp.path(), tiny_config_json(), 1500);
  std::vector<fs::path> shards;
  for (const auto& e : fs::directory_iterator(tmp.path()))
    if (ends_with(e.path().filename().string(), ".safetensors")) shards.push_back(e.path());
  std::sort(shards.begin(), shards.end());
  ASSERT_GT(shards.size(), 2u);
  for (const auto& f : shards) {
    CliResult r = run_python_reader({f});
    ASSERT_EQ(r.status, 0) << f << ": " << r.err;
    EXPECT_EQ(r.out, our_listing(f)) << f;
  }
}

TEST(SafetensorsInterop, BothReadersAgreeOnFixtures) {
  LP_REQUIRE_FIXTURES();
  if (!have_python()) GTEST_SKIP() << "python3 not available: independent reader not run";
  // Files written by Hugging Face's own safetensors: the Python reader and ours must agree.
  for (const char* f : {"models/stories260K/model.safetensors", "models/tiny-llama3/model.safetensors",
                        "models/tiny-qwen2/model.safetensors", "models/tiny-llama/model-00007-of-00022.safetensors"}) {
    CliResult r = run_python_reader({fixture(f)});
    ASSERT_EQ(r.status, 0) << f << ": " << r.err;
    EXPECT_EQ(r.out, our_listing(fixture(f))) << f;
  }
}

// ---------------------------------------------------------------------------------------------
// Sharded checkpoints.

TEST(CheckpointWriter, ShardsIndexAndBitIdenticalRewrite) {
  TempDir tmp;
  const uint64_t max_shard = 1500;
  const fs::path a = tmp.path() / "a";
  write_model(a, tiny_config_json(), max_shard);
  ModelConfig c = ModelConfig::from_json(tiny_config_json(), "cfg");
  auto expected = model_tensors(c);

  json index = read_json_file(a / "model.safetensors.index.json");
  ASSERT_TRUE(index.contains("weight_map"));
  uint64_t total = 0;
  std::map<std::string, uint64_t> shard_bytes;
  std::map<std::string, std::vector<std::string>> shard_names;
  for (const auto& e : expected) {
    uint64_t n = 4;
    for (int64_t d : e.shape) n *= static_cast<uint64_t>(d);
    total += n;
    ASSERT_TRUE(index["weight_map"].contains(e.name)) << e.name;
    std::string shard = index["weight_map"][e.name].get<std::string>();
    shard_bytes[shard] += n;
    shard_names[shard].push_back(e.name);
  }
  EXPECT_EQ(index["weight_map"].size(), expected.size());
  EXPECT_EQ(index["metadata"]["total_size"].get<uint64_t>(), total);
  const size_t n = shard_bytes.size();
  ASSERT_GE(n, 3u) << "max shard size must force several shards";
  size_t k = 1;
  std::string previous_last;
  for (const auto& [shard, bytes] : shard_bytes) {
    char want[64];
    std::snprintf(want, sizeof want, "model-%05zu-of-%05zu.safetensors", k++, n);
    EXPECT_EQ(shard, want);
    EXPECT_LE(bytes, max_shard) << shard;
    EXPECT_TRUE(fs::exists(a / shard));
    SafetensorsFile f(a / shard);
    EXPECT_EQ(f.metadata().at("format"), "pt");
    EXPECT_EQ(header_length(read_bytes(a / shard)) % 8, 0u);
    ASSERT_EQ(f.tensors().size(), shard_names[shard].size());
  }
  EXPECT_FALSE(fs::exists(a / "model.safetensors"));
  // Greedy filling in declaration order: a shard closes only when the next tensor would not fit.
  {
    std::string shard;
    uint64_t filled = 0;
    for (const auto& e : expected) {
      uint64_t bytes = 4;
      for (int64_t d : e.shape) bytes *= static_cast<uint64_t>(d);
      std::string here = index["weight_map"][e.name].get<std::string>();
      if (here != shard) {
        if (!shard.empty()) {
          EXPECT_GT(filled + bytes, max_shard) << e.name << " would have fit in " << shard;
        }
        EXPECT_GT(here, shard) << "shards follow declaration order";
        shard = here;
        filled = 0;
      }
      filled += bytes;
    }
  }

  // Read back and write again through the streaming writer: every file bit-identical.
  Checkpoint ck = Checkpoint::open(a);
  EXPECT_TRUE(ck.is_sharded());
  EXPECT_EQ(ck.shards().size(), n);
  EXPECT_EQ(ck.tensor_bytes(), total);
  std::vector<TensorSpec> specs;
  for (const auto& e : expected) {
    TensorRef r = ck.tensor(e.name);
    specs.push_back({e.name, r.info->dtype, r.info->shape});
    std::vector<float> want = tensor_values(e.name, r.info->numel());
    ASSERT_EQ(std::memcmp(r.data, want.data(), r.info->nbytes()), 0) << e.name;
  }
  const fs::path b = tmp.path() / "b";
  fs::create_directory(b);
  CheckpointWriter w(b, specs, max_shard);
  EXPECT_EQ(w.shard_count(), n);
  for (const auto& s : specs) {
    TensorRef r = ck.tensor(s.name);
    w.write(s.name, r.data, r.info->nbytes());
  }
  w.finish();
  auto sa = snapshot(a), sb = snapshot(b);
  sa.erase("config.json");
  EXPECT_EQ(sa, sb);
}

TEST(CheckpointWriter, SingleShardWhenEverythingFitsAndWrongOrderRefused) {
  TempDir tmp;
  write_model(tmp.path(), tiny_config_json(), 1 << 20);
  EXPECT_TRUE(fs::exists(tmp.path() / "model.safetensors"));
  EXPECT_FALSE(fs::exists(tmp.path() / "model.safetensors.index.json"));
  Checkpoint ck = Checkpoint::open(tmp.path());
  EXPECT_FALSE(ck.is_sharded());
  EXPECT_EQ(ck.names().front(), "model.embed_tokens.weight");  // data order = declaration order

  TempDir out;
  std::vector<TensorSpec> specs = {{"a", DType::F32, {2}}, {"b", DType::F32, {2}}};
  CheckpointWriter w(out.path(), specs, 1 << 20);
  float v[2] = {1, 2};
  EXPECT_THROW(w.write("b", v, 8), Error) << "tensors must come in declaration order";
  EXPECT_THROW(w.finish(), Error) << "incomplete checkpoint";
  EXPECT_THROW(CheckpointWriter(out.path(), {{"a", DType::F32, {1}}, {"a", DType::F32, {1}}}, 100), Error);
}

TEST(CheckpointWriter, OversizedTensorGetsItsOwnShard) {
  TempDir tmp;
  std::vector<TensorSpec> specs = {{"small0", DType::F32, {2}}, {"huge", DType::F32, {100}}, {"small1", DType::F32, {2}}};
  CheckpointWriter w(tmp.path(), specs, 64);
  EXPECT_EQ(w.shard_count(), 3u);
  std::vector<float> v(100, 1.0f);
  w.append(v.data(), 8);
  w.append(v.data(), 400);
  w.append(v.data(), 8);
  w.finish();
  json index = read_json_file(tmp.path() / "model.safetensors.index.json");
  EXPECT_EQ(index["weight_map"]["huge"], "model-00002-of-00003.safetensors");
  EXPECT_EQ(index["metadata"]["total_size"], 416);
}

TEST(CheckpointWriter, UnfinishedShardLeavesNoFile) {
  TempDir tmp;
  std::vector<TensorSpec> specs = {{"a", DType::F32, {4}}, {"b", DType::F32, {4}}};
  {
    CheckpointWriter w(tmp.path(), specs, 16);
    float v[4] = {};
    w.write("a", v, 16);  // shard 1 complete and renamed into place
    w.append(v, 4);       // shard 2 half written
  }
  EXPECT_TRUE(fs::exists(tmp.path() / "model-00001-of-00002.safetensors"));
  EXPECT_FALSE(fs::exists(tmp.path() / "model-00002-of-00002.safetensors"));
  EXPECT_FALSE(fs::exists(tmp.path() / "model.safetensors.index.json"));
  for (const auto& e : fs::directory_iterator(tmp.path()))
    EXPECT_EQ(e.path().string().find(".partial"), std::string::npos) << e.path();
}

TEST(CheckpointWriter, CopySideFilesSkipsWeightsAndConfig) {
  TempDir from, to;
  write_model(from.path(), tiny_config_json(), 1500);
  write_bytes(from.path() / "tokenizer.json", "{\"tok\":1}");
  write_bytes(from.path() / "generation_config.json", "{}");
  write_bytes(from.path() / "pytorch_model.bin", "x");
  fs::create_directory(from.path() / "subdir");
  copy_side_files(from.path(), to.path());
  std::set<std::string> names;
  for (const auto& e : fs::directory_iterator(to.path())) names.insert(e.path().filename().string());
  EXPECT_EQ(names, (std::set<std::string>{"tokenizer.json", "generation_config.json"}));
  EXPECT_EQ(read_bytes(to.path() / "tokenizer.json"), "{\"tok\":1}");
}

}  // namespace
}  // namespace llamapro::testing
