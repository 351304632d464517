"""Request examples of the gateway's OpenAPI, each shortened from its vendor's documentation.

Sources: Segment HTTP Tracking API reference; Twilio "Twilio's request to your incoming
message Webhook URL" and the Conversations webhook reference; SendGrid "Setting up the
Inbound Parse Webhook"; Mailgun "Receiving messages via HTTP through a forward() action";
Postmark "Inbound webhook"; AWS "Amazon Connect contact records data model" and Firehose
"HTTP endpoint delivery request and response specifications"; Asterisk cdr_csv; Shopify
Admin REST resources (Order, Refund, Fulfillment, Customer, as webhooks carry them);
Delighted "Webhooks"; Typeform "Example webhook payload"; Twilio "TaskRouter Events reference"
(the event callback's parameters) and "Queueing Twilio calls with TaskRouter" (a voice task's
attributes).
"""

from __future__ import annotations

import base64
from typing import Any, Final

import orjson

_MAIL: Final = (
    "From: Maria Lopez <maria.lopez@example.com>\r\n"
    "To: help@threadline-shop.com\r\n"
    "Subject: Collection time for order W-5001\r\n"
    "Date: Sat, 23 Nov 2024 10:15:02 +0000\r\n"
    "Message-ID: <CAF=maria-5001@mail.example.com>\r\n"
    "\r\n"
    "Hi, when can I collect order W-5001?\r\n"
)


def _base64_json(record: dict[str, Any]) -> str:
    return base64.b64encode(orjson.dumps(record)).decode()


EXAMPLES: Final[dict[str, Any]] = {
    "segment_batch": {
        "batch": [
            {
                "type": "identify",
                "userId": "97980cfea0067",
                "traits": {"name": "Maria Lopez", "email": "maria.lopez@example.com"},
                "messageId": "022bb90c-bbac-11e4-8dfc-aa07a5b093db",
                "timestamp": "2024-11-23T10:00:00Z",
            }
        ],
        "sentAt": "2024-11-23T10:00:01Z",
    },
    "segment_call": {
        "userId": "97980cfea0067",
        "event": "Order Completed",
        "properties": {"order_id": "W-5001", "revenue": 59.9},
        "messageId": "9c5cae04-bbac-11e4-8dfc-aa07a5b093db",
    },
    "twilio": {
        "MessageSid": "SM2e3d8ea4c0f4b6d4b1d2c5a3f1e0d9c8",
        "SmsSid": "SM2e3d8ea4c0f4b6d4b1d2c5a3f1e0d9c8",
        "AccountSid": "AC0123456789abcdef0123456789abcdef",
        "MessagingServiceSid": "MG0123456789abcdef0123456789abcdef",
        "From": "whatsapp:+14155550132",
        "To": "whatsapp:+14155550100",
        "Body": "Is my order ready to collect?",
        "NumMedia": "0",
        "ProfileName": "Maria Lopez",
        "WaId": "14155550132",
        "SmsStatus": "received",
        "ApiVersion": "2010-04-01",
    },
    "chat_events": {
        "conversation_id": "conv-8841",
        "type": "message",
        "message_id": "msg-3",
        "author_role": "customer",
        "text": "Is my order ready?",
        "customer": {"email": "maria.lopez@example.com"},
    },
    "email_inbound": _MAIL,
    "sendgrid": {
        "headers": _MAIL.split("\r\n\r\n")[0],
        "from": "Maria Lopez <maria.lopez@example.com>",
        "to": "help@threadline-shop.com",
        "subject": "Collection time for order W-5001",
        "text": "Hi, when can I collect order W-5001?",
        "envelope": '{"to":["help@threadline-shop.com"],"from":"maria.lopez@example.com"}',
        "charsets": '{"to":"UTF-8","subject":"UTF-8","from":"UTF-8","text":"UTF-8"}',
        "SPF": "pass",
    },
    "mailgun": {
        "recipient": "help@threadline-shop.com",
        "sender": "maria.lopez@example.com",
        "from": "Maria Lopez <maria.lopez@example.com>",
        "subject": "Collection time for order W-5001",
        "body-plain": "Hi, when can I collect order W-5001?",
        "stripped-text": "Hi, when can I collect order W-5001?",
        "message-headers": '[["Message-Id", "<CAF=maria-5001@mail.example.com>"]]',
        "timestamp": "1732356902",
        "token": "a8ce0edb2dd8301dee6c2405235584e45aa91d1e9f979f3de0",
        "signature": "d2271d12299f6592d9d44cd9d250f0704e4674c30d79d07c47a66f95ce71cf55",
    },
    "postmark": {
        "FromName": "Maria Lopez",
        "From": "maria.lopez@example.com",
        "FromFull": {"Email": "maria.lopez@example.com", "Name": "Maria Lopez"},
        "To": "help@threadline-shop.com",
        "ToFull": [{"Email": "help@threadline-shop.com", "Name": ""}],
        "Subject": "Collection time for order W-5001",
        "MessageID": "22c74902-a0c1-4511-804f-341342852c90",
        "Date": "Sat, 23 Nov 2024 10:15:02 +0000",
        "TextBody": "Hi, when can I collect order W-5001?",
        "Headers": [{"Name": "Message-ID", "Value": "<CAF=maria-5001@mail.example.com>"}],
        "Attachments": [],
    },
    "amazon_connect": {
        "requestId": "ed4acda5-034f-9f42-bba1-f29aea6d7d8f",
        "timestamp": 1578090901599,
        "records": [
            {
                "data": _base64_json(
                    {
                        "ContactId": "5ca522ec-bc09-40f0-b191-cccb318dbf60",
                        "Channel": "VOICE",
                        "InitiationTimestamp": "2024-11-23T10:30:00Z",
                        "CustomerEndpoint": {"Address": "+14155550132", "Type": "TELEPHONE_NUMBER"},
                    }
                )
            }
        ],
    },
    "asterisk_cdr": (
        '"","4155550132","2001","from-external","""Maria Lopez"" <4155550132>",'
        '"SIP/trunk-00000012","SIP/2001-00000013","Dial","SIP/2001,30",'
        '"2024-11-23 10:30:00","2024-11-23 10:30:05","2024-11-23 10:34:17",257,252,'
        '"ANSWERED","DOCUMENTATION","1732357800.18"\n'
    ),
    "screen_pop": {
        "agent": "dev-agent",
        "caller": {"phone": "(415) 555-0132"},
        "contact_id": "5ca522ec-bc09-40f0-b191-cccb318dbf60",
        "platform": "amazon-connect",
        "queue": "Orders",
    },
    "twilio_taskrouter": {
        "EventType": "reservation.created",
        "EventDescription": "Task WT2f95b3d1c9d8f4a0e6a1b9c7d5e3f1a2 reserved by worker",
        "AccountSid": "AC0123456789abcdef0123456789abcdef",
        "WorkspaceSid": "WS0123456789abcdef0123456789abcdef",
        "WorkspaceName": "Flex Task Assignment",
        "ResourceType": "reservation",
        "ResourceSid": "WR7c1a9e5b3d2f4a6c8e0b1d3f5a7c9e2b",
        "Sid": "EV8d6b4f2a0c9e7b5d3f1a8c6e4b2d0f9a",
        "Timestamp": "1732357805",
        "TimestampMs": "1732357805123",
        "TaskSid": "WT2f95b3d1c9d8f4a0e6a1b9c7d5e3f1a2",
        "TaskAttributes": (
            '{"from":"+14155550132","to":"+14155550100","direction":"inbound",'
            '"call_sid":"CA9b7d5f3a1c8e6b4d2f0a9c7e5b3d1f8a","caller_country":"US"}'
        ),
        "TaskAge": "12",
        "TaskPriority": "0",
        "TaskAssignmentStatus": "reserved",
        "TaskChannelUniqueName": "voice",
        "TaskQueueSid": "WQ3e1c9a7b5d3f1e8c6a4b2d0f9e7c5a3b",
        "TaskQueueName": "Orders",
        "WorkerSid": "WK5a3c1e9b7d5f3a1c8e6b4d2f0a9c7e5b",
        "WorkerName": "dev-agent",
        "WorkerAttributes": '{"contact_uri":"client:dev-agent"}',
        "WorkerActivityName": "Available",
        "ReservationSid": "WR7c1a9e5b3d2f4a6c8e0b1d3f5a7c9e2b",
        "WorkflowSid": "WW1b9d7f5a3c1e8b6d4f2a0c9e7b5d3f1a",
        "WorkflowName": "Assign to Anyone",
    },
    "shopify": {
        "id": 509562969,
        "order_id": 450789469,
        "created_at": "2024-11-25T13:35:06-04:00",
        "note": "it broke during shipping",
        "restock": True,
        "refund_line_items": [
            {
                "quantity": 1,
                "line_item_id": 703073504,
                "line_item": {
                    "title": "IPod Nano - 8gb",
                    "price": "199.00",
                    "sku": "IPOD2008BLACK",
                },
            }
        ],
        "transactions": [{"amount": "209.00", "kind": "refund", "currency": "USD"}],
    },
    "store_receipts": {
        "receipt_id": "R-20241123-0042",
        "store_id": "LON-01",
        "occurred_at": "2024-11-23T10:15:02+00:00",
        "customer": {"loyalty_id": "LOY-778812"},
        "lines": [{"sku": "SKU-1", "description": "Mug", "quantity": 2, "amount": "19.90"}],
        "total": "19.90",
        "currency": "EUR",
    },
    "survey_responses": {
        "response_id": "resp-77",
        "metric": "nps",
        "score": 9,
        "comment": "Quick and friendly",
        "responded_at": "2024-11-23T12:30:00Z",
        "respondent": {"email": "maria.lopez@example.com"},
    },
    "delighted": {
        "event_type": "survey_response.updated",
        "event_id": "b8d057c59327541d7ec2104c0a9a255ad1997fb00831b9c6bbf09561e6d5cbd0",
        "event_data": {
            "id": "5435",
            "person": {
                "id": "5975",
                "email": "charlie_gravis@example.com",
                "name": "Charlie Gravis",
                "created_at": 1732186784,
            },
            "survey_type": "nps",
            "score": 9,
            "comment": "Your service is fast and flawless!",
            "created_at": 1732186844,
            "updated_at": 1732187444,
            "person_properties": None,
        },
    },
    "typeform": {
        "event_id": "LtWXD3crgy",
        "event_type": "form_response",
        "form_response": {
            "form_id": "lT4Z3j",
            "token": "a3a12ec67a1365927098a606107fac15",
            "submitted_at": "2018-01-18T18:17:02Z",
            "landed_at": "2018-01-18T18:07:02Z",
            "hidden": {"email": "laura@example.com"},
            "definition": {
                "id": "lT4Z3j",
                "title": "Webhooks example",
                "fields": [{"id": "Q7M2nO8fjz", "type": "nps", "title": "Recommend us?"}],
            },
            "answers": [
                {"type": "number", "number": 9, "field": {"id": "Q7M2nO8fjz", "type": "nps"}}
            ],
        },
    },
}
