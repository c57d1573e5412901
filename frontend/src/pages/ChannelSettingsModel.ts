// Settings -> Channels, the pure part: URL forms for the help, and the words for a setting's
// source and a test message's answer.
import type { ChannelSetting, ChannelTestResult } from '../api/types'

/** The URL forms of docs/channels.md, per channel: [example, what it means]. */
export const URL_FORMS: Record<string, Array<[string, string]>> = {
  email: [
    ['smtp://HOST[:PORT]?from=ADDR', 'plain SMTP, no TLS, no login (port 25)'],
    ['smtp://USER:PASS@HOST:587?from=ADDR&starttls=1', 'upgraded with STARTTLS, then login'],
    ['smtps://USER:PASS@HOST[:PORT]?from=ADDR', 'TLS from the first byte (port 465), then login'],
    ['sandbox:', 'accept, deliver nothing'],
  ],
  sms: [
    ['infobip://APIKEY@BASE_HOST?from=SENDER', 'Infobip'],
    ['twilio://ACCOUNT_SID:AUTH_TOKEN@api.twilio.com?from=%2B15551234567', 'Twilio'],
    ['webhook+https://HOST/PATH?secret=SECRET', 'your own endpoint (castflow.message/1 JSON)'],
    ['sandbox:', 'accept, deliver nothing'],
  ],
  voice: [
    ['infobip://APIKEY@BASE_HOST?from=SENDER&language=en', 'Infobip text to speech'],
    ['webhook+https://HOST/PATH?secret=SECRET', 'your own endpoint'],
    ['sandbox:', 'accept, deliver nothing'],
  ],
  chat: [
    ['infobip://APIKEY@BASE_HOST?from=WHATSAPP_SENDER&viber_from=VIBER_SENDER', 'Infobip WhatsApp and Viber'],
    ['twilio://ACCOUNT_SID:AUTH_TOKEN@api.twilio.com?from=%2B15551234567', 'Twilio WhatsApp'],
    ['webhook+https://HOST/PATH?secret=SECRET', 'your own endpoint'],
    ['sandbox:', 'accept, deliver nothing'],
  ],
  push: [
    ['webpush:?vapid_private_key=KEY&subject=mailto:ops@example.com', 'Web Push with VAPID'],
    ['fcm:?project=PROJECT_ID&credentials=/path/service-account.json', 'Firebase Cloud Messaging'],
    ['webpush:?... fcm:?...', 'both, separated by a space'],
    ['webhook+https://HOST/PATH?secret=SECRET', 'your own endpoint'],
    ['sandbox:', 'accept, deliver nothing'],
  ],
}

const PROVIDER_NAMES: Record<string, string> = {
  smtp: 'SMTP',
  infobip: 'Infobip',
  twilio: 'Twilio',
  webhook: 'Webhook',
  webpush: 'Web Push',
  fcm: 'Firebase Cloud Messaging',
  'webpush+fcm': 'Web Push and Firebase Cloud Messaging',
  sandbox: 'Sandbox (delivers nothing)',
}

export function providerName(provider: string | null): string {
  return provider === null ? 'None usable' : (PROVIDER_NAMES[provider] ?? provider)
}

/** Where the setting in force comes from, in words. */
export function sourceText(setting: ChannelSetting): string {
  if (setting.source === 'environment') {
    const waiting = setting.stored ? ' A workspace setting is saved and applies once the variable is removed.' : ''
    return `From the server's environment (${setting.env_var}); it takes precedence over this page.${waiting}`
  }
  if (setting.source === 'workspace') return 'Set for this workspace on this page.'
  return 'The default: the sandbox, which accepts messages and delivers nothing.'
}

/** What the provider said to a test message, in words. */
export function testAnswerText(result: ChannelTestResult): string {
  if (result.status === 'accepted') {
    return `${providerName(result.provider)} accepted the message to ${result.to} (id ${result.provider_id}).`
  }
  const kind = result.status === 'transient' ? 'could not take the message for now' : 'refused the message'
  return `${providerName(result.provider)} ${kind}: ${result.error}`
}
