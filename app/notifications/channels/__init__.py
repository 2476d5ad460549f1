"""Notification channels: one module per provider behind the interface in base.py (CamCOPS keeps its exporters so).

Personal channels reach one person at an address they verified in their profile (SMS, WeCom app message);
group channels reach a school's or a hospital's duty group set up by the admin (WeCom and DingTalk group
robots, a signed webhook). SMS goes through the provider named by SMS_PROVIDER (aliyun or tencent).
"""
import importlib

from app.notifications.channels.base import Channel, Message, Result, Target
from app.notifications.channels.dingtalk_robot import DingTalkRobot
from app.notifications.channels.webhook import Webhook
from app.notifications.channels.wecom_app import WeComApp
from app.notifications.channels.wecom_robot import WeComRobot

# The SMS SDKs take ~0.7 s to import (aiohttp and friends): loaded on first use, not by every process at start.
SMS_PROVIDERS = {"aliyun": ("app.notifications.channels.aliyun_sms", "AliyunSms"),
                 "tencent": ("app.notifications.channels.tencent_sms", "TencentSms")}
PERSONAL_KINDS = ("sms", "wecom_app")
GROUP_KINDS = ("wecom_robot", "dingtalk_robot", "webhook")
GROUP_CHANNELS = {"wecom_robot": WeComRobot, "dingtalk_robot": DingTalkRobot, "webhook": Webhook}
# What each personal channel needs set before it is offered: read without importing the SMS SDKs, because the
# question is asked inside the transaction that opens an alert (the submission writer's too).
REQUIRED_SETTINGS = {
    "aliyun": ("ALIYUN_SMS_ACCESS_KEY_ID", "ALIYUN_SMS_ACCESS_KEY_SECRET", "ALIYUN_SMS_SIGN_NAME",
               "ALIYUN_SMS_TEMPLATE_ALERT", "ALIYUN_SMS_TEMPLATE_CODE"),
    "tencent": ("TENCENT_SMS_SECRET_ID", "TENCENT_SMS_SECRET_KEY", "TENCENT_SMS_SDK_APP_ID", "TENCENT_SMS_SIGN_NAME",
                "TENCENT_SMS_TEMPLATE_ALERT", "TENCENT_SMS_TEMPLATE_CODE"),
    "wecom_app": ("WECOM_CORP_ID", "WECOM_AGENT_ID", "WECOM_APP_SECRET"),
}

__all__ = ["Channel", "Message", "Result", "Target", "PERSONAL_KINDS", "GROUP_KINDS", "channel_for", "personal_available"]


def channel_for(kind: str, config) -> Channel | None:
    """The channel that sends `kind` under this configuration; None when the deployment has not set it up."""
    if not configured(kind, config):
        return None
    if kind == "sms":
        module, name = SMS_PROVIDERS[config["SMS_PROVIDER"].lower()]
        channel = getattr(importlib.import_module(module), name)(config)
    elif kind == "wecom_app":
        channel = WeComApp(config)
    else:
        channel = GROUP_CHANNELS[kind](config)
    return channel


def configured(kind, config) -> bool:
    """Whether the deployment has set `kind` up (no SDK is imported to answer)."""
    if kind in GROUP_CHANNELS:
        return True
    key = (config.get("SMS_PROVIDER") or "").lower() if kind == "sms" else kind
    return key in REQUIRED_SETTINGS and all(config.get(name) for name in REQUIRED_SETTINGS[key])


def personal_available(config) -> list[str]:
    """The personal channels this deployment offers its staff (SMS and WeCom, when configured)."""
    return [kind for kind in PERSONAL_KINDS if configured(kind, config)]
