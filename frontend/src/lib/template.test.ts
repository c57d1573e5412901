import { describe, expect, it } from 'vitest'
import { renderTemplate, templateVariables } from './template'

const data = {
  contact: { id: 'c-anna', attributes: { first_name: 'Anna', country: 'IT' }, email: 'anna@example.it' },
  event: { name: 'cart_abandoned', properties: { cart_total: 89.9, item_count: 3, cart_url: 'https://orto.example/cart/7f3a' } },
  vars: {},
}

describe('message preview', () => {
  it('renders lookups and the filters the examples use', () => {
    expect(renderTemplate('Ciao {{ contact.attributes.first_name }}!', data).text).toBe('Ciao Anna!')
    expect(renderTemplate("{{ '%.2f' | format(event.properties.cart_total) }}", data).text).toBe('89.90')
    expect(renderTemplate("{{ contact.attributes.nickname | default('there', true) }}", data).text).toBe('there')
    expect(renderTemplate('{{ contact.attributes.first_name | upper }}', data).text).toBe('ANNA')
  })

  it('renders a missing value as empty text, like the server', () => {
    expect(renderTemplate('Hi {{ contact.attributes.nickname }}!', data).text).toBe('Hi !')
  })

  it('shows what it cannot render as written', () => {
    const result = renderTemplate('{% if x %}yes{% endif %} {{ x | unknownfilter }}', data)
    expect(result.unsupported).toHaveLength(3)
    expect(result.text).toContain('{% if x %}')
  })

  it('lists the variables a template uses', () => {
    expect(templateVariables('{{ contact.email }} {{event.properties.total|round}}')).toEqual(['contact.email', 'event.properties.total'])
  })
})
