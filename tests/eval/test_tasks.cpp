// test_tasks.cpp — every built-in task format turned into prompts byte-equal to hand-written
// ones (lm-evaluation-harness's wording), few-shot joining, answer extraction, and one clean
// error naming file and line for each kind of bad task file.
#include <gtest/gtest.h>

#include <fstream>

#include "common/fixtures.h"
#include "eval/tasks.h"
#include "util/check.h"

namespace llamapro {
namespace {

using testing::TempDir;

// One document scored, one example (from a separate file, so the draw is forced).
Task one_shot(const TempDir& tmp, const std::string& name, const std::string& doc, const std::string& example) {
  std::ofstream(tmp.str(name + ".jsonl")) << doc << "\n";
  std::ofstream(tmp.str(name + "-shot.jsonl")) << example << "\n";
  TaskOptions o;
  o.fewshot = 1;
  return load_task(parse_task_spec(name + ":" + tmp.str(name + ".jsonl") + "," + tmp.str(name + "-shot.jsonl")), o);
}

TEST(Tasks, ArcPromptsAsLmEval) {
  TempDir tmp;
  Task t = one_shot(tmp, "arc_easy",
                    R"({"question": "Which is a gas?", "choices": {"text": ["ice", "steam"], "label": ["A", "B"]}, "answerKey": "B"})",
                    R"({"question": "What is 1+1?", "choices": {"text": ["2", "3"], "label": ["1", "2"]}, "answerKey": "1"})");
  ASSERT_EQ(t.docs.size(), 1u);
  const TaskDoc& d = t.docs[0];
  EXPECT_EQ(d.contexts[0], "Question: What is 1+1?\nAnswer: 2\n\nQuestion: Which is a gas?\nAnswer:");
  EXPECT_EQ(d.continuations, (std::vector<std::string>{" ice", " steam"}));
  EXPECT_EQ(d.gold, 1);
}

TEST(Tasks, HellaswagCleansAndCapitalizesAsLmEval) {
  TempDir tmp;
  Task t = one_shot(
      tmp, "hellaswag",
      R"({"activity_label": "Baking", "ctx_a": "A man mixes flour [header] in a bowl.", "ctx_b": "he THEN", "endings": ["adds eggs [step].", "sleeps."], "label": "0"})",
      R"({"activity_label": "Running", "ctx_a": "A woman runs.", "ctx_b": "she", "endings": ["stops [title] Rest.", "flies."], "label": 0})");
  const TaskDoc& d = t.docs[0];
  EXPECT_EQ(d.contexts[0], "Running: A woman runs. She stops. Rest.\n\nBaking: A man mixes flour in a bowl. He then");
  EXPECT_EQ(d.continuations, (std::vector<std::string>{" adds eggs .", " sleeps."}));
  EXPECT_EQ(d.gold, 0);
}

TEST(Tasks, MmluPromptsAsLmEval) {
  TempDir tmp;
  Task t = one_shot(tmp, "mmlu",
                    R"({"question": " What is 2+2? ", "subject": "high_school_math", "choices": ["3", "4", "5", "6"], "answer": 1})",
                    R"({"question": "What is 1+1?", "subject": "high_school_math", "choices": ["2", "3", "4", "5"], "answer": "A"})");
  const TaskDoc& d = t.docs[0];
  EXPECT_EQ(d.contexts[0],
            "The following are multiple choice questions (with answers) about high school math.\n\n"
            "What is 1+1?\nA. 2\nB. 3\nC. 4\nD. 5\nAnswer: A\n\n"
            "What is 2+2?\nA. 3\nB. 4\nC. 5\nD. 6\nAnswer:");
  EXPECT_EQ(d.continuations, (std::vector<std::string>{" A", " B", " C", " D"}));
  EXPECT_EQ(d.gold, 1);
  EXPECT_EQ(d.subject, "high_school_math");
}

TEST(Tasks, WinograndeScoresTheSharedSuffixAsLmEval) {
  TempDir tmp;
  Task t = one_shot(tmp, "winogrande",
                    R"({"sentence": "The cup fell off the table because _ was too close to the edge.", "option1": "the cup", "option2": "the table", "answer": "1"})",
                    R"({"sentence": "Tom gave Bob a gift because _ was kind.", "option1": "Tom", "option2": "Bob", "answer": "1"})");
  const TaskDoc& d = t.docs[0];
  EXPECT_EQ(d.contexts[0], "Tom gave Bob a gift because Tom was kind.\n\nThe cup fell off the table because the cup");
  EXPECT_EQ(d.contexts[1], "Tom gave Bob a gift because Tom was kind.\n\nThe cup fell off the table because the table");
  EXPECT_EQ(d.continuations[0], " was too close to the edge.");
  EXPECT_EQ(d.continuations[1], d.continuations[0]);
  EXPECT_EQ(d.gold, 0);
}

TEST(Tasks, TruthfulqaAndGsm8kPrompts) {
  TempDir tmp;
  Task t = one_shot(tmp, "truthfulqa_mc2",
                    R"({"question": "Is the sky green?", "mc2_targets": {"choices": ["No.", "Yes.", "No, blue."], "labels": [1, 0, 1]}})",
                    R"({"question": "Is water wet?", "mc2_targets": {"choices": ["Yes.", "No."], "labels": [1, 0]}})");
  EXPECT_EQ(t.docs[0].contexts[0], "Q: Is water wet?\nA: Yes.\n\nQ: Is the sky green?\nA:");
  EXPECT_EQ(t.docs[0].true_choices, (std::vector<int>{0, 2}));
  EXPECT_TRUE(t.mc2);
  Task g = one_shot(tmp, "gsm8k", R"({"question": "What is 6*7?", "answer": "6*7=42\n#### 42"})",
                    R"({"question": "What is 1+1?", "answer": "1+1=2\n#### 2"})");
  EXPECT_EQ(g.kind, TaskKind::Generate);
  EXPECT_EQ(g.docs[0].text, "Question: What is 1+1?\nAnswer: 1+1=2\n#### 2\n\nQuestion: What is 6*7?\nAnswer:");
  EXPECT_EQ(g.stop, (std::vector<std::string>{"Question:", "</s>", "<|im_end|>"}));
}

TEST(Tasks, FewshotFromTheSameFileNeverShowsTheScoredDocument) {
  TempDir tmp;
  std::ofstream f(tmp.str("c.jsonl"));
  for (int i = 0; i < 5; i++) f << R"({"context": "doc )" << i << R"(", "choices": ["a", "b"], "gold": 0})" << "\n";
  f.close();
  TaskOptions o;
  o.fewshot = 4;
  Task t = load_task(parse_task_spec("choice:" + tmp.str("c.jsonl")), o);
  ASSERT_EQ(t.docs.size(), 5u);
  for (int i = 0; i < 5; i++) {
    const std::string& ctx = t.docs[size_t(i)].contexts[0];
    const std::string self = "doc " + std::to_string(i);
    EXPECT_EQ(ctx.find(self), ctx.size() - self.size()) << ctx;  // only at the end, as the scored document
    for (int k = 0; k < 5; k++) EXPECT_NE(ctx.find("doc " + std::to_string(k)), std::string::npos);
  }
  o.limit = 2;
  Task limited = load_task(parse_task_spec("choice:" + tmp.str("c.jsonl")), o);
  ASSERT_EQ(limited.docs.size(), 2u);
  EXPECT_EQ(limited.docs[1].contexts[0], t.docs[1].contexts[0]);  // the draw does not depend on --limit
}

TEST(Tasks, AnswersAreExtractedAsGsm8kScores) {
  EXPECT_EQ(reference_number("so 3+4=7\n#### 1,234"), "1234");
  EXPECT_EQ(extracted_number("First 3 apples, then 5. The answer is 12."), "12");
  EXPECT_EQ(extracted_number("we get 7 and then 8.00"), "8");
  EXPECT_EQ(extracted_number("no number"), "");
  EXPECT_EQ(extract_with_regex("Answer: B) because", "Answer: ([A-D])"), "B");
}

TEST(Tasks, BadFilesAreOneErrorNamingFileAndLine) {
  TempDir tmp;
  auto refused = [&](const std::string& name, const std::string& line, const std::string& says) {
    std::ofstream(tmp.str("bad.jsonl"), std::ios::binary) << R"({"context": "ok", "choices": ["a"], "gold": 0})" << "\n"
                                                          << line << "\n";
    try {
      load_task(parse_task_spec(name + ":" + tmp.str("bad.jsonl")), TaskOptions{});
    } catch (const Error& e) {
      const std::string what = e.what();
      if (what.find("bad.jsonl:2") == std::string::npos || what.find(says) == std::string::npos)
        return ::testing::AssertionFailure() << what;
      return ::testing::AssertionSuccess();
    }
    return ::testing::AssertionFailure() << "accepted: " << line;
  };
  EXPECT_TRUE(refused("choice", R"({"choices": ["a", "b"], "gold": 0})", "missing text field \"context\""));
  EXPECT_TRUE(refused("choice", R"({"context": "c", "choices": ["a", "b"], "gold": 2})", "outside the 2 choices"));
  EXPECT_TRUE(refused("choice", R"({"context": "c", "choices": [], "gold": 0})", "non-empty list"));
  EXPECT_TRUE(refused("choice", "{\"context\": \"\xff\", \"choices\": [\"a\"], \"gold\": 0}", "not valid UTF-8"));
  EXPECT_TRUE(refused("choice", "{not json", "invalid JSON"));
  EXPECT_THROW(parse_task_spec("nosuchtask:x.jsonl"), Error);
  EXPECT_THROW(parse_task_spec("choice"), Error);
}

}  // namespace
}  // namespace llamapro
