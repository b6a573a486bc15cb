"""Images in perf requests (issue 16 item 3), checked at the server: `assay sim` decodes every image part it
receives (Pillow) and records its size, colour mode, file format and count, so these tests check what the
server got, not what the client meant to send. No vision model runs here, so there is no llama-server test
of images; and EvalScope's speed ladder, one sweep point per prompt length.
"""

from __future__ import annotations

import io
import json
import tarfile

import pytest

from assay import PerfConfig, run_perf
from assay.data.tokenizers import load_tokenizer
from assay.engines.sim import SimServer, SimSettings
from assay.errors import DatasetError
from assay.store import read_records


def _run(sim: SimServer, tmp_path, **options: object):
    config: dict[str, object] = dict(url=f"{sim.base_url}/chat/completions", model="sim", max_tokens=2,
                                     parallel=[2], number=[4], outputs_dir=str(tmp_path / "out"), quiet=True,
                                     test_connection=False, html=False)
    config.update(options)
    return run_perf(PerfConfig(**config))


def _text_of(record: dict[str, object]) -> str:
    (message,) = record["messages"]  # type: ignore[misc]
    return "".join(part["text"] for part in message["content"] if part["type"] == "text")


@pytest.mark.slow
def test_random_vl_images_reach_the_server_at_the_size_count_and_format_asked(tmp_path):
    tokenizer = load_tokenizer("o200k_base")
    with SimServer(SimSettings(ttft_ms=1, tpot_ms=1)) as sim:
        _run(sim, tmp_path, dataset="random_vl", tokenizer_path="o200k_base", min_prompt_length=12,
             max_prompt_length=12, image_width=64, image_height=48, image_format="L", image_num=3)
        grey = sim.records()
        sim.reset()
        _run(sim, tmp_path, dataset="random_vl", tokenizer_path="o200k_base", min_prompt_length=5,
             max_prompt_length=5, image_format="JPEG", number=[2], parallel=[1])  # EvalScope's 224 × 224, one image
        jpeg = sim.records()
    assert len(grey) == 4 and len(jpeg) == 2
    for record in grey:
        assert [(i["width"], i["height"], i["mode"], i["format"], i["mime"]) for i in record["images"]] == [
            (64, 48, "L", "PNG", "image/png")] * 3, record["images"]
        assert len(tokenizer.encode(_text_of(record))) == 12  # the text: random words of the length asked
    for record in jpeg:
        assert [(i["width"], i["height"], i["mode"], i["format"]) for i in record["images"]] == [
            (224, 224, "RGB", "JPEG")]
        assert len(tokenizer.encode(_text_of(record))) == 5
    pixels = {(r["images"][0]["bytes"]) for r in grey}
    assert len(pixels) > 1  # random images, not one image sent four times


def make_flickr8k_copy(folder, samples: list[tuple[str, tuple[int, int], str]]) -> None:
    """A tiny copy in clip-benchmark/wds_flickr8k's layout: test/0.tar (WebDataset: <key>.jpg, <key>.txt) and
    test/nshards.txt, as the hub repository holds them."""
    from PIL import Image

    split = folder / "test"
    split.mkdir(parents=True)
    with tarfile.open(split / "0.tar", "w") as shard:
        for key, size, caption in samples:
            image = io.BytesIO()
            Image.new("RGB", size, (200, 40, 40)).save(image, format="JPEG")
            for name, data in ((f"{key}.jpg", image.getvalue()), (f"{key}.txt", caption.encode())):
                member = tarfile.TarInfo(name)
                member.size = len(data)
                shard.addfile(member, io.BytesIO(data))
    (split / "nshards.txt").write_text("1")


@pytest.mark.slow
def test_flickr8k_sends_each_image_with_its_caption_from_a_local_copy_in_the_hub_layout(tmp_path):
    copy = tmp_path / "wds_flickr8k"
    make_flickr8k_copy(copy, [("s0000000", (40, 30), "A dog runs on grass."),
                              ("s0000001", (33, 57), "Two children play in the snow.")])
    with SimServer(SimSettings(ttft_ms=1, tpot_ms=1)) as sim:
        result = _run(sim, tmp_path, dataset="flickr8k", dataset_path=str(copy), parallel=[1], number=[4])
        seen = sim.records()
    assert [_text_of(r) for r in seen] == ["A dog runs on grass.", "Two children play in the snow."] * 2
    assert [[(i["width"], i["height"], i["format"]) for i in r["images"]] for r in seen] == [
        [(40, 30, "JPEG")], [(33, 57, "JPEG")]] * 2  # the dataset's own JPEG files
    records, _ = read_records(result.run_dir / "requests.jsonl")
    assert len(records) == 4 and all(r.error is None for r in records)
    with pytest.raises(DatasetError, match=r"has no test/\*\.tar shards"):
        _run(sim, tmp_path, dataset="flickr8k", dataset_path=str(tmp_path))


@pytest.mark.slow
def test_speed_benchmark_runs_one_point_per_length_of_evalscopes_ladder(tmp_path):
    with SimServer(SimSettings(ttft_ms=1, tpot_ms=1)) as sim:
        result = _run(sim, tmp_path, url=f"{sim.base_url}/completions", dataset="speed_benchmark",
                      tokenizer_path="o200k_base", parallel=[1], number=[8])
        seen = [r["prompt_tokens"] for r in sim.records()]  # the simulator counts the prompt's words
        sim.reset()
        _run(sim, tmp_path, url=f"{sim.base_url}/completions", dataset="speed_benchmark", parallel=[1], number=[4])
        no_tokenizer = sim.records()
    summary = json.loads((result.run_dir / "summary.json").read_text())
    assert [p["requests"] for p in summary["points"]] == [2, 2, 2, 2]  # --number 8: two per length
    assert seen == [1, 1, 6144, 6144, 14336, 14336, 30720, 30720]
    records, _ = read_records(result.run_dir / "requests.jsonl")
    assert [(r.point, r.requested_prompt_tokens) for r in records] == [
        (0, 1), (0, 1), (1, 6144), (1, 6144), (2, 14336), (2, 14336), (3, 30720), (3, 30720)]
    report = (result.run_dir / "report.txt").read_text(encoding="utf-8")
    table = report.split("Speed benchmark", 1)[1]
    assert [line.split("│")[1].strip() for line in table.splitlines() if line.count("│") == 4] == [
        "1", "6144", "14336", "30720"]  # EvalScope's table: prompt tokens, then the speed at that length
    assert len(no_tokenizer) == 4  # one per length: EvalScope's repeated character, no length to check it by
    assert all(r["finish_reason"] == "length" for r in no_tokenizer)


@pytest.mark.slow
def test_evalscopes_random_vl_command_runs_unchanged(tmp_path):
    """EvalScope's own example (its stress-test docs), with only the server, model and tokenizer swapped:
    the image arguments are acted on, so no note is printed for them."""
    from tests.helpers import run_assay

    with SimServer(SimSettings(ttft_ms=1, tpot_ms=1)) as sim:
        done = run_assay("perf", "--parallel", "2", "--model", "sim", "--url", f"{sim.base_url}/chat/completions",
                         "--api", "openai", "--dataset", "random_vl", "--min-tokens", "4", "--max-tokens", "4",
                         "--prefix-length", "0", "--min-prompt-length", "100", "--max-prompt-length", "100",
                         "--image-width", "96", "--image-height", "80", "--image-format", "RGB", "--image-num", "1",
                         "--number", "4", "--tokenizer-path", "o200k_base", "--debug",
                         "--outputs-dir", str(tmp_path), "--quiet")
        seen = sim.records()
    assert done.returncode == 0, done.stderr
    lines = (done.stdout + done.stderr).splitlines()
    assert not [line for line in lines if line.startswith("--image-")], lines
    assert sum(line.startswith("--debug: ") for line in lines) == 1
    check, *measured = seen  # first the short request that checks URL, model and key (text only)
    assert check["images"] == []
    assert [[(i["width"], i["height"], i["mode"], i["format"]) for i in r["images"]] for r in measured] == [
        [(96, 80, "RGB", "PNG")]] * 4
    assert all(r["params"]["max_tokens"] == 4 and r["params"]["min_tokens"] == 4 for r in measured)
