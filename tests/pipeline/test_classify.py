from pipeline import classify
from pipeline.records import Document


def test_shipped_model_loads_from_the_repo_and_separates_clear_cases():
    assert classify.load_classifier() is not None, f"{classify.MODEL_DIR}: shipped model missing"
    other = Document("a", "t", "美军参谋长联席会议主席访问欧洲", "2023-01-01",
                     "美军参谋长联席会议主席当天抵达布鲁塞尔，同北约官员举行会谈，讨论乌克兰局势和军援问题。")
    coord = Document("b", "t", "京津冀三地签署生态环境合作框架协议", "2022-06-22",
                     "今天，北京、天津、河北三地生态环境部门联合签署合作框架协议，推动区域生态环境质量持续改善。")
    assert classify.probability_other(other) > classify.probability_other(coord)
    assert classify.probability_other(coord) < 0.5


def test_fit_follows_the_estimator_contract(tmp_path):
    texts = ["三省签署合作协议，共建区域协作机制", "两市联合开展执法行动", "九部门联合印发通知",
             "领导小组会议研究部署重点工作"] * 5 + ["球队赢得联赛冠军", "新品手机发布", "明天全国大部晴朗",
                                           "股市今日收涨"] * 5
    labels = ["coordination"] * 20 + ["other"] * 20
    model = classify.DocClassifier(epochs=3)
    assert not hasattr(model, "nlp_")
    assert model.fit(texts, labels) is model
    p = model.probability_other(["五省签署协议共建协作机制", "球队今日赢得冠军"])
    assert p[0] < p[1]
    model.save(tmp_path / "m", {"n": 40})
    assert classify.load_classifier(tmp_path / "m") is not None
    assert (tmp_path / "m" / "meta.json").is_file()
