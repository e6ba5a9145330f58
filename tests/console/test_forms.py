"""The console's form models: what each says, in Vietnamese, before any service is called."""

from __future__ import annotations

from api.console.forms import BulletinForm, EmergencyForm, ScheduleForm, StationForm


def test_an_empty_schedule_form_names_every_missing_input() -> None:
    problems = ScheduleForm().problems()
    assert problems == {
        "bulletin_ids": "Chọn ít nhất một bản tin đã duyệt",
        "area_codes": "Chọn ít nhất một địa bàn",
    }


def test_a_schedule_form_refuses_an_id_that_is_not_one_and_the_emergency_priority() -> None:
    form = ScheduleForm(bulletin_ids=["7", "٣"], area_codes=["082"], priority="emergency")
    assert form.chosen_bulletins() == [7, None]
    assert set(form.problems()) == {"bulletin_ids", "priority"}


def test_a_refused_form_is_shown_again_as_typed_and_ignores_the_csrf_token() -> None:
    typed = {"title": "  Tin  ", "text": "Nội dung", "csrf_token": "x", "priority": "loud"}
    form = BulletinForm.model_validate(typed)
    assert form.problems() == {"priority": "Mức ưu tiên không hợp lệ"}
    assert form.shown()["title"] == "  Tin  " and "csrf_token" not in form.shown()
    assert "area_code" in BulletinForm(title="a", text="b").problems(needs_area=True)


def test_emergency_and_station_forms() -> None:
    assert EmergencyForm(bulletin_id="0", area_codes=["082"]).problems() == {
        "emergency_bulletin": "Chọn bản tin khẩn cấp đã duyệt"
    }
    assert StationForm(name="Đài xã", area_code="02743", languages=["vi"]).problems() == {}
    assert "kind" in StationForm(name="a", area_code="b", kind="fm", languages=["vi"]).problems()
